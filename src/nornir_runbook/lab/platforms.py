"""The platforms the lab serves, one :class:`Platform` each: what differs between vendors.

A lab device runs FakeNOS's profile of its platform (prompts, ``enable``, ``terminal ...`` and
the canned ``show`` outputs) inside :class:`~nornir_runbook.lab.shell.LabShell`, which adds
what FakeNOS lacks and every platform needs the same way: configuration mode with sub-modes, a
running configuration that shows the lines configured, saving, ``| include``-style filters and
the device's fault. What that shell needs to know of a vendor is here, in one table:

============  ==============================================================================
cisco_ios     ``(config)#`` after ``Enter configuration commands...``; child lines indented
              by one space; ``write memory`` answers ``[OK]``
arista_eos    ``(config)#`` at once; child lines indented by three spaces; ``write memory``
              answers ``Copy completed successfully.``
============  ==============================================================================

On both, FakeNOS's outputs that ntc-templates cannot parse for a flaw of FakeNOS's own are
mended (see :mod:`nornir_runbook.lab.mend`).

An inventory host's ``platform`` picks its entry, under any name nornir_netmiko gives that
Netmiko device type (``ios`` and ``cisco_xe`` are IOS, ``eos`` is EOS). This module needs only
the standard library, so the lab package reads it without FakeNOS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from nornir_runbook.lab.mend import EOS_MENDED, IOS_MENDED


@dataclass(frozen=True, slots=True, kw_only=True)
class Platform:
    """One vendor's CLI, as the lab shell plays it.

    ``name``: FakeNOS's platform (and the inventory's); ``aliases``: other inventory names of
    it; ``running_config``: FakeNOS's template of ``show running-config``; ``indent``: how its
    running configuration indents a line of a sub-mode; ``config_intro``: what ``configure
    terminal`` prints (``""``: nothing); ``save_output``: what ``write memory`` prints;
    ``submodes``: config lines that enter a sub-mode, by prefix, and the mode's prompt name;
    ``mend``: exec commands whose FakeNOS output is mended before it goes out.
    """

    name: str
    aliases: frozenset[str] = frozenset()
    running_config: str
    indent: str
    config_intro: str
    save_output: str
    submodes: tuple[tuple[str, str], ...]
    mend: Mapping[str, Callable[[str], str]] = field(default_factory=dict)

    def submode(self, line: str) -> str | None:
        """The sub-mode a top-level config line enters, or None."""
        return next((mode for prefix, mode in self.submodes if line.startswith(prefix)), None)


IOS = Platform(
    name="cisco_ios",
    aliases=frozenset({"cisco_xe", "ios"}),  # what nornir_netmiko maps to IOS
    running_config="cisco_ios/show_running-config.j2",
    indent=" ",
    config_intro="Enter configuration commands, one per line.  End with CNTL/Z.",
    save_output="Building configuration...\n[OK]",
    submodes=(
        ("interface ", "config-if"),
        ("router ", "config-router"),
        ("line ", "config-line"),
        ("vrf definition ", "config-vrf"),
        ("ip access-list ", "config-ext-nacl"),
        ("route-map ", "config-route-map"),
        ("class-map ", "config-cmap"),
        ("policy-map ", "config-pmap"),
    ),
    mend=MappingProxyType(IOS_MENDED),
)

EOS = Platform(
    name="arista_eos",
    aliases=frozenset({"eos"}),
    running_config="arista_eos/show_running-config.j2",
    indent="   ",
    config_intro="",
    save_output="Copy completed successfully.",
    submodes=(
        ("interface ", "config-if"),
        ("router bgp ", "config-router-bgp"),
        ("router ospf ", "config-router-ospf"),
        ("router ", "config-router"),
        ("vlan ", "config-vlan"),
        ("vrf instance ", "config-vrf"),
        ("ip access-list ", "config-acl"),
        ("route-map ", "config-route-map"),
        ("management ", "config-mgmt"),
        ("daemon ", "config-daemon"),
    ),
    mend=MappingProxyType(EOS_MENDED),
)

PLATFORMS: Mapping[str, Platform] = MappingProxyType(
    {name: p for p in (IOS, EOS) for name in (p.name, *p.aliases)}
)


def platform_named(name: object) -> Platform:
    """The platform an inventory ``platform`` names; ``ValueError`` naming those served."""
    if isinstance(name, str) and name in PLATFORMS:
        return PLATFORMS[name]
    served = ", ".join(sorted({p.name for p in PLATFORMS.values()}))
    raise ValueError(f"platform {name!r} is not served by the lab (it serves {served})")

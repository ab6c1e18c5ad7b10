"""One lab session's CLI: FakeNOS's commands of the device's platform plus configuration mode.

Stock FakeNOS knows ``enable``, ``terminal ...``, ``show clock``, ``show version`` and many
canned ``show`` commands per platform, but no configuration mode. :class:`LabShell` adds what
Netmiko's ``send_config_set`` and ``save_config`` need, the way IOS and EOS answer (what
differs between them is a :class:`~nornir_runbook.lab.platforms.Platform`):

- ``configure terminal`` at ``#`` enters ``{host}(config)#``; ``interface``, ``router``,
  ``line``... enter their sub-modes (``(config-if)#``...); ``exit`` goes up one mode, ``end``
  back to ``#``; ``do CMD`` runs an exec command from any config mode;
- every config line is recorded per device (shared by all its sessions), and
  ``show running-config`` is the canned config with those lines added before ``end``;
- ``write memory`` / ``copy running-config startup-config`` answer as the platform does;
  ``disable`` returns to ``>``; ``| include``, ``| exclude`` and ``| begin`` filter any
  command's output.

The device's shared state may give the session a fault (:mod:`nornir_runbook.lab.faults`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from fakenos.core.nos import Nos
from fakenos.plugins.shell.cmd_shell import CMDShell

from nornir_runbook.lab.faults import (
    BANNER_COMMAND,
    HOSTILE_BANNER,
    LINK_COMMANDS,
    DeviceState,
    Fault,
    SessionFaults,
    link_down,
)
from nornir_runbook.lab.platforms import Platform

CONFIG_MODE = "config"
CONFIGURE = frozenset({"configure terminal", "configure", "conf t", "config t", "conf term"})
RUNNING_CONFIG = frozenset({"show running-config", "show running", "show run"})
SAVE = frozenset(
    {
        "write",
        "wr",
        "write mem",
        "write memory",
        "copy running-config startup-config",
        "copy run start",
    }
)
PIPE = re.compile(r"^(?P<command>.+?)\s+\|\s+(?P<kind>include|exclude|begin|i|e|b)\s+(?P<rx>.+)$")


class RunningConfig:
    """The config lines one device has received, shared by all its sessions."""

    def __init__(self, hostname: str, nos: Nos, platform: Platform) -> None:
        self._hostname = hostname
        self._nos = nos
        self._platform = platform
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def apply(self, line: str, *, child: bool) -> None:
        """Record a line (a sub-mode's line indented as the platform indents it); a top-level
        ``no X`` removes a recorded ``X`` instead."""
        text = line.strip()
        if child and not line[:1].isspace():
            text = self._platform.indent + text
        elif child:
            text = line
        with self._lock:
            undone = text.startswith("no ") and text[3:] in self._lines
            if undone:
                self._lines.remove(text[3:])
            else:
                self._lines.append(text)

    def render(self) -> str:
        template = self._platform.running_config
        base: str = self._nos.device.render(template, base_prompt=self._hostname).rstrip()
        with self._lock:
            added = list(self._lines)
        if not added:
            return base
        head, _, _ = base.rpartition("\nend")
        return "\n".join([head or base, *added, "!", "end"])


def _pipe_filter(kind: str, rx: str) -> Callable[[str], str]:
    pattern = re.compile(rx)

    def apply(text: str) -> str:
        lines = text.splitlines()
        if kind[0] == "i":
            lines = [ln for ln in lines if pattern.search(ln)]
        elif kind[0] == "e":
            lines = [ln for ln in lines if not pattern.search(ln)]
        else:
            start = next((i for i, ln in enumerate(lines) if pattern.search(ln)), len(lines))
            lines = lines[start:]
        return "\n".join(lines)

    return apply


class LabShell(CMDShell):  # type: ignore[misc]  # fakenos is untyped
    """One session's CLI: FakeNOS's command table plus configuration mode (see module doc);
    ``device``, the device's shared state, may give it a fault (see ``lab_faults``)."""

    prompt: str
    stdout: Any  # FakeNOS's output queue, or nowhere (no_prompt)

    def __init__(
        self,
        *args: Any,
        platform: Platform,
        running_config: RunningConfig,
        device: DeviceState | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._platform = platform
        self._running = running_config
        self._user_prompt: str = self.nos.initial_prompt.format(base_prompt=self.base_prompt)
        self._exec_prompt: str = self.nos.enable_prompt.format(base_prompt=self.base_prompt)
        self._mode: str | None = None  # None: exec; else "config" or a sub-mode
        self._filters: list[Callable[[str], str]] = []  # on the output of the current command
        self._closing = False
        self._faults = SessionFaults(device)
        self.stdout = self._faults.output(self.stdout)

    def stop(self) -> None:
        # FakeNOS stops a shell by typing "exit", which config mode would take as "go up one mode"
        self._closing = True
        self._faults.stopping.set()
        super().stop()

    def onecmd(self, line: str) -> bool:
        if self._closing or not self.is_running.is_set():
            return True
        stop = self._config_line(line) if self._mode is not None else bool(super().onecmd(line))
        drop = None if stop else self._faults.after_command(line)
        if drop is not None:  # the device's fault: end the session now
            if drop:  # the command completed: the client sees its prompt, then the session goes
                self.stdout.write(self.prompt)
            self._faults.dropped(getattr(self.stdout, "lines", []))
            return True
        return stop

    def writeline(self, value: Any) -> None:
        text = str(value)
        for apply in self._filters:
            text = apply(text)
        for line in self._faults.lines(text.splitlines()):
            if not self._faults.before_line():
                return  # the session ended while this output was going out slowly
            self.stdout.write(line + self.newline)

    def default(self, line: str) -> bool:
        """An exec-mode command (at ``>`` or ``#``)."""
        match = PIPE.match(line)
        if match:
            return self._filtered(match["command"], _pipe_filter(match["kind"], match["rx"]))
        command = " ".join(line.split())
        if self.prompt == self._exec_prompt and self._privileged(command):
            return False
        if command == BANNER_COMMAND and self._faults.fault is Fault.HOSTILE_BANNER:
            self.stdout.write(HOSTILE_BANNER + self.newline)  # as is: writeline splits at \r
            return False
        if (
            command in LINK_COMMANDS
            and self._faults.fault is Fault.LINK_DOWN
            and link_down not in self._filters
        ):
            return self._filtered(command, link_down)
        mend = self._platform.mend.get(command)
        if mend is not None:
            return self._filtered(command, mend, first=True)
        return bool(super().default(command))

    def _filtered(self, command: str, apply: Callable[[str], str], *, first: bool = False) -> bool:
        """Run ``command`` with ``apply`` on its output (``first``: before any ``|`` filter)."""
        if first:
            self._filters.insert(0, apply)
        else:
            self._filters.append(apply)
        try:
            return bool(super().default(command)) if first else self.default(command)
        finally:
            self._filters.remove(apply)

    def _privileged(self, command: str) -> bool:
        """Answer an exec command that FakeNOS lacks; False if it is not one of them."""
        if command in CONFIGURE:
            if self._platform.config_intro:
                self.writeline(self._platform.config_intro)
            self._set_mode(CONFIG_MODE)
        elif command in RUNNING_CONFIG:
            self.writeline(self._running.render())
        elif command in SAVE:
            self.writeline(self._platform.save_output)
        elif command == "disable":
            self.prompt = self._user_prompt
        else:
            return False
        return True

    def _set_mode(self, mode: str | None) -> None:
        self._mode = mode
        self.prompt = self._exec_prompt if mode is None else f"{self.base_prompt}({mode})#"

    def _config_line(self, raw: str) -> bool:
        line = raw.rstrip()
        word = " ".join(line.split())
        if not word or word.startswith("!"):
            return False
        if word in ("end", "\x1a"):
            self._set_mode(None)
        elif word == "exit":
            self._set_mode(None if self._mode == CONFIG_MODE else CONFIG_MODE)
        elif word.startswith("do "):
            mode, self.prompt = self._mode, self._exec_prompt
            self._mode = None
            try:
                self.default(word[3:])
            finally:
                self._set_mode(mode)
        else:
            submode = None if line[:1].isspace() else self._platform.submode(word)
            self._running.apply(line, child=submode is None and self._mode != CONFIG_MODE)
            if submode is not None:
                self._set_mode(submode)
        return False

"""One lab session's CLI: FakeNOS's commands of the device's platform plus configuration mode.

Stock FakeNOS knows ``enable``, ``terminal ...``, ``show clock``, ``show version`` and many
canned ``show`` commands per platform, but no configuration mode. :class:`LabShell` adds what
Netmiko's ``send_config_set`` and ``save_config`` need, the way IOS and EOS answer (what
differs between them is a :class:`~nornir_runbook.lab.platforms.Platform`):

- ``configure terminal`` at ``#`` enters ``{host}(config)#``; ``interface``, ``router``,
  ``line``... enter their sub-modes (``(config-if)#``...); ``exit`` goes up one mode, ``end``
  back to ``#``; ``do CMD`` runs an exec command from any config mode;
- the running configuration is per device (shared by all its sessions): the canned config as
  a tree that each config line changes as config mode does (:mod:`nornir_runbook.netconfig`):
  a line entering an existing section adds to that section, a line already there is not
  added twice, ``no X`` removes ``X`` and its children (``no X`` of an absent ``X`` is
  accepted), new sections go at the end; ``show running-config`` renders it with the
  platform's indent;
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
from nornir_runbook.netconfig import NEGATION, Config, Node, parse

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
    """One device's running configuration, shared by all its sessions: the canned config as a
    tree (:mod:`nornir_runbook.netconfig`) that config lines change as config mode would."""

    def __init__(self, hostname: str, nos: Nos, platform: Platform) -> None:
        self._hostname = hostname
        self._nos = nos
        self._platform = platform
        self._header: list[str] = []  # the canned config's leading comment lines
        self._config: Config | None = None
        self._lock = threading.Lock()

    def apply(self, section: tuple[str, ...], line: str) -> None:
        """``line`` applied in ``section`` (the path of section lines it was typed under)."""
        with self._lock:
            self._tree().apply(section, line)

    def render(self) -> str:
        """``show running-config``: the header, each top-level section followed by ``!``,
        then ``end``."""
        with self._lock:
            config = self._tree()
            lines = list(self._header)
            for node in config.root.children:
                lines.append(Config(Node("", [node]), config.indent).render())
                if node.children:
                    lines.append("!")
            return "\n".join([*lines, "end"])

    def _tree(self) -> Config:
        if self._config is None:
            template = self._platform.running_config
            canned: str = self._nos.device.render(template, base_prompt=self._hostname)
            lines = canned.strip().splitlines()
            while lines and lines[0].startswith("!") and lines[0].strip("! "):
                self._header.append(lines.pop(0))
            self._config = parse("\n".join(lines), indent=self._platform.indent)
        return self._config


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
        self._section: tuple[str, ...] = ()  # in a sub-mode: the line that entered it
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

    def _set_mode(self, mode: str | None, section: tuple[str, ...] = ()) -> None:
        self._mode = mode
        self._section = section if mode not in (None, CONFIG_MODE) else ()
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
            mode, section, self.prompt = self._mode, self._section, self._exec_prompt
            self._mode = None
            try:
                self.default(word[3:])
            finally:
                self._set_mode(mode, section)
        else:
            self._configure(line, word)
        return False

    def _configure(self, line: str, word: str) -> None:
        """A config line: a line entering a sub-mode (``interface ...``) goes at the top and
        enters it; ``no`` of one removes that section from the top; any other line goes in
        the current section."""
        submode = None if line[:1].isspace() else self._platform.submode(word)
        if submode is not None:
            self._running.apply((), word)
            self._set_mode(submode, (word,))
        elif word.startswith(NEGATION) and self._platform.submode(word[len(NEGATION) :]):
            self._running.apply((), word)
            self._set_mode(CONFIG_MODE)
        else:
            self._running.apply(self._section, word)

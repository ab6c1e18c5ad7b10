"""A Cisco-style configuration as a tree of lines, what both sides of a ``config`` step read.

A ``config`` step (Ansible's ``ios_config`` ``lines`` and ``parents``) and the lab's running
configuration must agree on what a line means, so they share this one reading:

- :func:`parse` turns text into a tree by indentation: a line indented more than the line
  before it is that line's child (a section: ``interface Ethernet1`` and its lines). ``!``
  comments, blank lines, ``end`` and what IOS prints above the configuration (``Building
  configuration...``, ``Current configuration : N bytes``) carry nothing and are dropped.
- :meth:`Config.apply` applies one line at a place (the path of its sections) as config mode
  does: a line already there is not added again, a new one goes at the end of its section
  (a new section at the end of the configuration), and ``no X`` removes ``X`` and its
  children there (``no X`` of an absent ``X`` changes nothing).
- :func:`missing` lists the lines of a candidate that change a running configuration, each
  with its place, weighed in order as config mode would apply them: a line not there, a
  whole new section; ``no X`` only where ``X`` is there (then ``X``, ``no X`` sends both).
- :func:`commands` and :func:`keystrokes` turn those into the lines to report and to type.

Written here rather than taken from hier_config or ciscoconfparse2: both compute the remedy
from a running to a *whole* intended configuration (absent lines are negated), not the merge
of a few lines that ``lines``/``parents`` mean, and the lab needs the line-by-line apply.
Standard library only.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Change",
    "Config",
    "Node",
    "candidate",
    "commands",
    "keystrokes",
    "missing",
    "parse",
    "unified",
]

NEGATION = "no "
IGNORED = frozenset({"end"})
# what IOS prints above the configuration, that changes with it: not configuration
CHATTER = ("Building configuration", "Current configuration")


@dataclass(slots=True)
class Node:
    """One line and the lines of its section, in order."""

    text: str
    children: list[Node] = field(default_factory=list)

    def find(self, text: str) -> Node | None:
        return next((c for c in self.children if c.text == text), None)


@dataclass(frozen=True, slots=True)
class Change:
    """A line to send at ``path`` (the section lines it goes under); ``opens``: it starts a
    section the next changes go into."""

    path: tuple[str, ...]
    line: str
    opens: bool = False


class Config:
    """A configuration as a tree; ``indent`` is what one level of :meth:`render` indents by."""

    def __init__(self, root: Node | None = None, indent: str = " ") -> None:
        self.root = root or Node("")
        self.indent = indent

    def section(self, path: Sequence[str], *, create: bool = False) -> Node | None:
        """The node at ``path`` (the root for ``()``); None when absent and not ``create``."""
        node = self.root
        for text in path:
            found = node.find(text)
            if found is None:
                if not create:
                    return None
                found = Node(text)
                node.children.append(found)
            node = found
        return node

    def apply(self, path: Sequence[str], line: str) -> None:
        """``line`` applied in the section at ``path`` (created if absent), as config mode
        applies it (see the module's docstring)."""
        text = " ".join(line.split())
        if not text or text.startswith("!") or text in IGNORED:
            return
        if text.startswith(NEGATION):
            parent = self.section(path)
            if parent is not None:
                parent.children = [c for c in parent.children if c.text != text[len(NEGATION) :]]
            return
        parent = self.section(path, create=True)
        assert parent is not None
        if parent.find(text) is None:
            parent.children = [c for c in parent.children if c.text != NEGATION + text]
            parent.children.append(Node(text))

    def applied(self, changes: Iterable[Change]) -> Config:
        """A copy with ``changes`` applied in order."""
        copy = parse(self.render(), indent=self.indent)
        for change in changes:
            copy.apply(change.path, change.line)
        return copy

    def render(self) -> str:
        """The tree as text, each level indented by ``indent`` more than its parent."""
        out: list[str] = []

        def walk(node: Node, depth: int) -> None:
            for child in node.children:
                out.append(self.indent * depth + child.text)
                walk(child, depth + 1)

        walk(self.root, 0)
        return "\n".join(out)


def parse(text: str, *, indent: str | None = None) -> Config:
    """``text`` as a tree by indentation; ``indent`` (else the first indented line's, else one
    space) is what :meth:`Config.render` will indent by."""
    root = Node("")
    stack: list[tuple[int, Node]] = [(-1, root)]
    seen_indent = None
    for raw in text.replace("\r", "").splitlines():
        line = raw.expandtabs(1).rstrip()
        words = " ".join(line.split())
        if not words or words.startswith(("!", *CHATTER)) or words in IGNORED:
            continue
        depth = len(line) - len(line.lstrip())
        if depth and seen_indent is None:
            seen_indent = line[:depth]
        while stack[-1][0] >= depth:
            stack.pop()
        node = Node(words)
        stack[-1][1].children.append(node)
        stack.append((depth, node))
    return Config(root, indent if indent is not None else seen_indent or " ")


def candidate(lines: Sequence[str], parents: Sequence[str] = ()) -> Config:
    """A step's ``config`` lines (a line may hold an indented section) under ``parents``."""
    tree = parse("\n".join(lines))
    config = Config()
    section = config.section([" ".join(p.split()) for p in parents], create=True)
    assert section is not None
    section.children = tree.root.children
    return config


def missing(running: Config, wanted: Config) -> list[Change]:
    """The lines of ``wanted`` that change ``running``, in ``wanted``'s order, each applied to
    a copy of ``running`` before the next is weighed (so ``X`` then ``no X`` are both sent):
    a line not there (a new section, with its lines), and ``no X`` only where ``X`` is."""
    found: list[Change] = []
    state = running.applied([])

    def walk(want: Node, path: tuple[str, ...]) -> None:
        for node in want.children:
            have = state.section(path)
            there = have.find(node.text) if have is not None else None
            if node.text.startswith(NEGATION):
                target = node.text[len(NEGATION) :]
                if there is None and have is not None and have.find(target) is not None:
                    found.append(Change(path, node.text))
                    state.apply(path, node.text)
                continue
            if there is None:
                found.append(Change(path, node.text, opens=bool(node.children)))
                state.apply(path, node.text)
            walk(node, (*path, node.text))

    walk(wanted.root, ())
    return found


def commands(changes: Sequence[Change]) -> list[str]:
    """What the step reports as sent (Ansible's ``commands``): each change's line, after the
    section lines it goes under that the lines before it have not entered."""
    out: list[str] = []
    current: tuple[str, ...] = ()
    for change in changes:
        common = _common(current, change.path)
        out.extend(change.path[common:])
        out.append(change.line)
        current = (*change.path, change.line) if change.opens else change.path
    return out


def keystrokes(changes: Sequence[Change]) -> list[str]:
    """:func:`commands` as typed in config mode: ``exit`` leaves a section before a line of a
    section above it, so that no device takes that line as the section's."""
    out: list[str] = []
    current: tuple[str, ...] = ()
    for change in changes:
        common = _common(current, change.path)
        out.extend(["exit"] * (len(current) - common))
        out.extend(change.path[common:])
        out.append(change.line)
        current = (*change.path, change.line) if change.opens else change.path
    return out


def _common(a: Sequence[str], b: Sequence[str]) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def unified(before: str, after: str) -> str:
    """A unified diff of two configurations ("" when they are the same)."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "before", "after", lineterm=""
    )
    return "\n".join(lines)

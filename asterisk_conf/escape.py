"""Escaping for the syntaxes of Asterisk's files: one function per syntax.

Rendered values (department names, descriptions, reasons) come from the
admin's map; none of them may change the structure of the file it lands in.

* :func:`dialplan_arg` -- one argument of a dialplan application in
  extensions.conf: ``,`` separates arguments, ``;`` starts a comment, ``\\``
  escapes, ``"`` quotes, ``$`` starts a variable or an expression (shown as
  the full-width ``＄``); a newline ends the line.
* :func:`conf_value` -- the value of a ``key = value`` line of any other
  .conf file: ``;`` starts a comment, a newline ends the line.
"""

from __future__ import annotations

# "$" would start a ${variable} or $[expression]: a literal one is shown as the
# full-width "＄" (no escape survives variable substitution)
_DIALPLAN = {"\\": "\\\\", ",": "\\,", ";": "\\;", '"': '\\"', "$": "＄"}


def _one_line(value: object) -> str:
    return " ".join(str(value).replace("\r", "\n").split("\n"))


def dialplan_arg(value: object) -> str:
    """``value`` as literal text inside a dialplan application's argument."""
    return "".join(_DIALPLAN.get(ch, ch) for ch in _one_line(value))


def conf_value(value: object) -> str:
    """``value`` as the literal right side of ``key = value`` in a .conf file."""
    return _one_line(value).replace("\\", "\\\\").replace(";", "\\;").strip()


def comment(value: object) -> str:
    """``value`` inside a ``; comment``: one line, so it cannot end the comment."""
    return _one_line(value)


def callerid_name(value: object) -> str:
    """A display name inside ``callerid = "name" <number>``: no quotes, no comment, one line."""
    return conf_value(str(value).replace('"', "'").replace("<", "(").replace(">", ")"))

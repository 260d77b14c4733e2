"""Settings declared once: each field of the pipeline's configuration
(pipeline/config.py) and of the training configuration
(trainer_module/config.py) carries, as its dataclass metadata, what it is, how
its default reads and which values it takes.

From that one declaration come the check of every value, whoever set it (a
default, the environment, a flag, a caller), the CLI's flags with their
--help, and the settings tables of docs/configuration.md
(pipeline/settings_doc.py). Imports nothing of the project, so that
trainer_module can declare its fields here without importing pipeline/.
"""
import dataclasses
import math
import re
import shlex
from typing import Any, List, Optional, Tuple

from foundation.errors import ConfigError

_KEY = "setting"

# The tables of docs/configuration.md a setting is listed in.
RUN, DATA_CHECKS, KUBEFLOW = "run", "data checks", "kubeflow"
GROUPS = (RUN, DATA_CHECKS, KUBEFLOW)

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a setting is and the values it takes."""
    help: str  # one phrase, plain text: --help and the docs' first column
    at_least: Optional[float] = None
    above: Optional[float] = None
    at_most: Optional[float] = None
    below: Optional[float] = None
    choices: Tuple[str, ...] = ()
    pattern: str = ""  # a non-empty text must match this regular expression...
    pattern_text: str = ""  # ...which says this
    default_text: str = ""  # how --help and the docs show the default, when not its value
    see: str = ""  # a page of docs/ (with its anchor) that says more
    group: str = RUN


def setting(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, **rule) -> Any:
    """A dataclass field declared as a setting (see Rule for `rule`)."""
    return dataclasses.field(default=default, default_factory=factory, metadata={_KEY: Rule(**rule)})


def rule_of(field: dataclasses.Field) -> Optional[Rule]:
    """The field's declaration; None for a field that is not a setting."""
    return field.metadata.get(_KEY)


def kind_of(field: dataclasses.Field) -> str:
    """'bool', 'int', 'float', 'list' or 'str'."""
    if field.type is bool:
        return "bool"
    if field.type in (int, float):
        return field.type.__name__
    return "str" if field.type is str else "list"


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def allowed(field: dataclasses.Field) -> str:
    """What the setting takes, in words: 'a whole number >= 1', 'one of custom, fit'."""
    rule, kind = rule_of(field), kind_of(field)
    if kind == "bool":
        return "true or false"
    if kind == "list":
        return "arguments, quoted as a shell would"
    if rule.choices:
        return "one of " + ", ".join(rule.choices)
    if kind == "str":
        return rule.pattern_text or "text"
    what = "a whole number" if kind == "int" else "a number"
    if rule.at_least is not None and rule.at_most is not None:
        return f"{what} from {_figure(rule.at_least)} to {_figure(rule.at_most)}"
    if rule.above is not None and rule.below is not None:
        return f"{what} above {_figure(rule.above)} and below {_figure(rule.below)}"
    bounds = [f"> {_figure(rule.above)}" if rule.above is not None else "",
              f">= {_figure(rule.at_least)}" if rule.at_least is not None else "",
              f"<= {_figure(rule.at_most)}" if rule.at_most is not None else "",
              f"< {_figure(rule.below)}" if rule.below is not None else ""]
    return " ".join([what] + [b for b in bounds if b])


def problem(field: dataclasses.Field, value: Any) -> Optional[str]:
    """None when `value` is one the setting takes, else what it takes."""
    rule, kind = rule_of(field), kind_of(field)
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "list":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind == "str":
        # Empty means "the default's behaviour" only where the default is empty.
        ok = isinstance(value, str) and (
            value in rule.choices if rule.choices
            else (not value and field.default == "")
            or (bool(value) and (not rule.pattern or re.fullmatch(rule.pattern, value) is not None)))
    else:
        types = (int,) if kind == "int" else (int, float)
        ok = (isinstance(value, types) and not isinstance(value, bool) and math.isfinite(value)
              and (rule.at_least is None or value >= rule.at_least)
              and (rule.above is None or value > rule.above)
              and (rule.at_most is None or value <= rule.at_most)
              and (rule.below is None or value < rule.below))
    return None if ok else allowed(field)


def parse(field: dataclasses.Field, text: str) -> Any:
    """A setting given as text (the environment, a flag); ValueError saying
    what the setting takes when the text is none of it."""
    kind = field.type
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in TRUE_WORDS + FALSE_WORDS:
                return lowered in TRUE_WORDS
        elif kind is int:
            return int(text)
        elif kind is float:
            return float(text)
        elif kind is str:
            return text
        else:
            return shlex.split(text)
    except ValueError:
        pass
    raise ValueError(allowed(field))


def checked(field: dataclasses.Field, given: Any, where: str) -> Any:
    """The value of a setting `given` as text (parsed) or as a value: ConfigError
    `<where>: must be <what it takes>` when the setting does not take it.
    `where` says how it was given, e.g. `--epochs 0`."""
    try:
        value = parse(field, given) if isinstance(given, str) else given
    except ValueError:
        value = None
    reason = problem(field, value) if value is not None else allowed(field)
    if reason:
        raise ConfigError(f"{where}: must be {reason}", settings=(field.name,))
    return value


def shown(value: Any) -> str:
    """A value as a user would type it."""
    if isinstance(value, list):
        return shlex.join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def default_text(field: dataclasses.Field) -> str:
    """How a setting's default reads (Markdown: values in backticks), for
    --help (backticks dropped) and docs/configuration.md."""
    rule = rule_of(field)
    if rule.default_text:
        return rule.default_text
    value = field.default_factory() if field.default is dataclasses.MISSING else field.default
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`" if isinstance(value, str) else shown(value)


def check(instance: Any) -> None:
    """Every setting of a dataclass instance, against its declaration:
    ConfigError naming the first one whose value it does not take."""
    for field in dataclasses.fields(instance):
        if rule_of(field) is None:
            continue
        value = getattr(instance, field.name)
        reason = problem(field, value)
        if reason:
            raise ConfigError(f"{field.name} {shown(value)!r}: must be {reason}", settings=(field.name,))


def declared(cls: type) -> List[dataclasses.Field]:
    """The fields of a dataclass that are settings, in their order."""
    return [f for f in dataclasses.fields(cls) if rule_of(f) is not None]

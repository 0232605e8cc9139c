"""Settings that last: a config file and ``SCAN2PDF_*`` environment variables.

Where a setting comes from, first found wins:

1. the command line;
2. ``SCAN2PDF_<COMMAND>_<OPTION>`` (``SCAN2PDF_WATCH_SETTLE=5``), then ``SCAN2PDF_<OPTION>``
   for every command that has the option (``SCAN2PDF_LANGUAGE=eng+spa``);
3. the config file: ``--config FILE`` (or ``SCAN2PDF_CONFIG``), else ``scan2pdf.toml`` in
   the working directory when there is one;
4. the defaults.

The file (TOML, read with ``tomllib``) holds settings for every command at the top and
per command in ``[convert]``, ``[watch]``, ``[retry]`` sections (these win). Keys are the
long option names, with ``-`` or ``_`` (``image-dpi``, ``image_dpi``); ``language`` may be a
list. Relative paths are relative to the file's folder. A key no command has is refused
with its name (exit 2). ``[folders."spanish/"]`` tables give conversion settings for the
inputs under a folder (relative to the INPUT folder), e.g. ``language = "spa"``.

Click does the merging: the file and ``SCAN2PDF_<OPTION>`` become the command's
``default_map``, which Click ranks below the command line and its own per-command
environment variables.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from scan2pdf.errors import UsageError

FILE_NAME = "scan2pdf.toml"
ENV_PREFIX = "SCAN2PDF"
# Parameters that are the command's own business, never a setting.
_NOT_SETTINGS = frozenset({"inputs", "inbox", "outdir", "config", "help", "dry_run"})
# Settings given as paths: relative ones are read from the config file's folder.
_PATHS = frozenset({"output", "report", "journal", "failed", "done", "progress_file"})
_SECTIONS = ("convert", "watch", "retry")
FOLDERS = "folders"


@dataclass(frozen=True)
class Loaded:
    """The file's settings: for each command, then per folder (conversion settings)."""

    commands: Mapping[str, dict[str, Any]]
    folders: Mapping[str, dict[str, Any]]


def config_option(func: Any) -> Any:
    """``--config FILE``: read first (eager), so the other options see its values."""
    return click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=f"{ENV_PREFIX}_CONFIG",
        is_eager=True,
        expose_value=False,
        callback=_apply,
        help=f"Settings file (TOML). Default: ./{FILE_NAME} when there is one. "
        "Precedence: command line > SCAN2PDF_* environment > this file > defaults.",
    )(func)


def folder_settings(ctx: click.Context) -> Mapping[str, dict[str, Any]]:
    """The ``[folders."..."]`` tables of the file this command read (empty without one)."""
    loaded = ctx.meta.get(__name__)
    return loaded.folders if isinstance(loaded, Loaded) else {}


def _apply(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    command = ctx.command.name or ""
    keys = _keys_by_command(ctx)
    try:
        loaded = load(value, keys)
    except UsageError as exc:  # Click's own form: "Error: ..." and exit 2, no traceback
        raise click.UsageError(exc.message, ctx) from exc
    ctx.meta[__name__] = loaded
    defaults = dict(loaded.commands.get(command, {}))
    for name in keys.get(command, {}):
        env = os.environ.get(f"{ENV_PREFIX}_{name.upper()}")
        if env is not None:
            defaults[name] = env
    ctx.default_map = {**(ctx.default_map or {}), **defaults}


def load(path: Path | None, keys: Mapping[str, Mapping[str, click.Parameter]]) -> Loaded:
    """Read the file (``path``, else ./scan2pdf.toml if present) for commands whose
    settings are ``keys``; UsageError for a file that cannot be read or parsed, or a key
    that no command (or not the section's command) has."""
    if path is None:
        found = Path(FILE_NAME)
        if not found.is_file():
            return Loaded({}, {})
        path = found
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError as exc:
        raise UsageError(f"The config file '{path}' does not exist.", "Check --config.") from exc
    except OSError as exc:
        raise UsageError(f"Cannot read the config file '{path}': {exc.strerror}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"The config file '{path}' is not valid TOML: {exc}.") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"The config file '{path}' is not UTF-8 text (byte {exc.start + 1}).",
            "Save it as UTF-8, as TOML requires.",
        ) from exc
    base = path.parent
    every = {name: param for params in keys.values() for name, param in params.items()}
    top = {k: v for k, v in data.items() if k not in (*_SECTIONS, FOLDERS)}
    shared = _settings(top, every, path, "", base)
    commands: dict[str, dict[str, Any]] = {}
    for section in _SECTIONS:
        own_keys = keys.get(section, {})
        table = _table(data.get(section, {}), path, f"[{section}]")
        own = _settings(table, own_keys, path, f" in [{section}]", base)
        commands[section] = {**{k: v for k, v in shared.items() if k in own_keys}, **own}
    folders: dict[str, dict[str, Any]] = {}
    conversion = keys.get("convert", {})
    for folder, table in _table(data.get(FOLDERS, {}), path, f"[{FOLDERS}]").items():
        where = f' in [{FOLDERS}."{folder}"]'
        settings = _settings(_table(table, path, where), conversion, path, where, base)
        folders[folder.strip("/")] = settings
    return Loaded(commands, folders)


def _settings(
    table: Mapping[str, Any],
    known: Mapping[str, click.Parameter],
    path: Path,
    where: str,
    base: Path,
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            raise UsageError(
                f"Unknown setting '{key}'{where} in the config file '{path}'.",
                "Use the long name of an option: "
                f"{', '.join(sorted(k.replace('_', '-') for k in known))}.",
            )
        if name == "language" and isinstance(value, list):
            for one in value:
                _checked(key, one, known[name], path, where)
            value = "+".join(value)
        value = _checked(key, value, known[name], path, where)
        if name in _PATHS and isinstance(value, str):
            value = str(base / Path(value).expanduser())
        settings[name] = value
    return settings


def _table(value: object, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where} in the config file '{path}' must be a table of settings.")
    return value


def _keys_by_command(ctx: click.Context) -> dict[str, dict[str, click.Parameter]]:
    """Each configurable command's settings (its parameters, by name)."""
    group = ctx.parent.command if ctx.parent is not None else None
    commands: Mapping[str, click.Command] = getattr(group, "commands", {})
    keys: dict[str, dict[str, click.Parameter]] = {}
    for name in _SECTIONS:
        command = commands.get(name) or (ctx.command if ctx.command.name == name else None)
        if command is not None:
            keys[name] = {
                p.name: p for p in command.params if p.name and p.name not in _NOT_SETTINGS
            }
    return keys


def _checked(
    key: str, value: Any, param: click.Parameter | None, path: Path, where: str
) -> Any:
    """``value`` as TOML gave it, if it is of the kind the option takes (a list of them
    for an option given more than once); else a UsageError naming the key. TOML has
    types, and Click would take ``force = 0`` as false and ``jobs = 1.5`` as 1, or stop
    with a traceback on ``output = 5``; Click's own conversion (ranges, choices) follows,
    as for the command line."""
    if param is None:
        return value
    flag = isinstance(param, click.Option) and param.is_flag
    many = param.multiple or param.nargs != 1
    values = value if many and isinstance(value, list) else [value]
    for one in values:
        wanted = _wanted(one, param.type, flag)
        if wanted is not None:
            raise UsageError(
                f"'{key}'{where} in the config file '{path}' must be {wanted}, "
                f"not {_toml(one)}."
            )
    return values if many else value


def _wanted(value: Any, kind: click.ParamType[Any], flag: bool) -> str | None:
    """What ``value`` should be for an option of type ``kind``; None when it is that."""
    if flag:
        return None if isinstance(value, bool) else "true or false"
    structured = isinstance(value, bool | list | dict)
    for param_type, accepted, word in _KINDS:
        if isinstance(kind, param_type):
            return None if isinstance(value, accepted) and not structured else word
    # Our own types read text or numbers, and say what is wrong themselves.
    return "a string or a number" if structured else None


# Each option type TOML values are checked against: the values it takes, and its word.
_KINDS: tuple[tuple[type[click.ParamType[Any]], type | tuple[type, ...], str], ...] = (
    (click.types.IntParamType, int, "a whole number"),
    (click.types.FloatParamType, (int, float), "a number"),
    (click.Path, str, "a string (a path)"),
    (click.Choice, str, "a string"),
    (click.types.StringParamType, str, "a string"),
)


def _toml(value: Any) -> str:
    """``value`` written as TOML writes it, for a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return f"[{', '.join(_toml(v) for v in value)}]"
    return str(value)

"""The ``glompo checkpoint info`` and ``glompo plugins`` commands.

What a checkpoint holds (its manifest; nothing is unpickled), and which plugins are
installed, their status and what they provide.
"""

from __future__ import annotations

import argparse
import json
import sys

from glompo_core._cli_logging import _error


def _configure_checkpoint(chk: argparse.ArgumentParser) -> None:
    chk_sub = chk.add_subparsers(dest="checkpoint_command", metavar="SUBCOMMAND")
    chk_sub.required = True
    info = chk_sub.add_parser("info", help="print a checkpoint's manifest")
    info.add_argument("file", help="the checkpoint (.tar.gz)")
    info.add_argument("--json", action="store_true", help="the manifest as JSON")


def _configure_plugins(plugins: argparse.ArgumentParser) -> None:
    plugins.add_argument("--json", action="store_true", help="machine-readable output")


def _cmd_checkpoint(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from glompo_core.checkpointing import read_manifest
    from glompo_core.errors import CheckpointingError

    try:
        manifest = read_manifest(args.file)
    except CheckpointingError as exc:
        return _error(Console(file=sys.stderr), "error:", exc)
    if args.json:
        print(json.dumps(manifest, indent=2, default=str))
        return 0
    out = Console(soft_wrap=True, highlight=False)
    for key in ("written", "glompo_core_version", "format_version", "checksum", "f_counter",
                "o_counter", "task"):
        out.print(f"[bold]{key}:[/] {escape(str(manifest.get(key)))}")
    # where the run came from (checkpoints written since glompo-core recorded it)
    for key in ("task_module", "task_class", "task_path", "run_file_dir", "working_dir",
                "checkpointing_dir"):
        if key in manifest:
            out.print(f"[bold]{key}:[/] {escape(str(manifest[key]))}")
    plugins = ", ".join(f"{k} {v}" for k, v in manifest.get("plugins", {}).items())
    out.print(f"[bold]plugins:[/] {escape(plugins)}")
    for opt in manifest.get("optimizers", []):
        out.print(f"  optimizer {opt['opt_id']}: {escape(str(opt['type']))} "
                  f"({opt['status']}, restart: {opt['restart']})")
    out.print(f"[bold]members:[/] {len(manifest.get('members', {}))}")
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from glompo_core import hookspecs
    from glompo_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    observers = (*hookspecs.SERVICE_HOOKS, *hookspecs.LIFECYCLE_HOOKS)
    rows = []
    for info in pm.plugins():
        row = info.as_dict()
        # aliases: kind -> name -> its other names (only names that have some)
        aliases: dict[str, dict[str, list[str]]] = {}
        for kind, names in info.components.items():
            for name in names:
                other_names = list(pm.info(kind, name).aliases)
                if other_names:
                    aliases.setdefault(kind, {})[name] = other_names
        # hooks: what the plugin does besides registering components (e.g. the scope)
        plugin = pm.hook_manager.get_plugin(info.name) if info.status == "active" else None
        callers = {c.name for c in pm.hook_manager.get_hookcallers(plugin) or ()} \
            if plugin is not None else set()
        row["aliases"] = aliases
        row["hooks"] = [hook for hook in observers if hook in callers]
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="GloMPO plugins")
    for col in ("plugin", "distribution", "version", "status"):
        table.add_column(col)
    table.add_column("provides", overflow="fold")
    for row in rows:
        lines = []
        for kind, names in row["components"].items():
            shown = [name if name not in row["aliases"].get(kind, {})
                     else f"{name} ({', '.join(row['aliases'][kind][name])})" for name in names]
            lines.append(f"{kind}: {', '.join(shown)}")
        for hook in row["hooks"]:
            doc = (getattr(hookspecs, hook).__doc__ or "").strip().splitlines()
            lines.append(f"hook {hook}" + (f": {doc[0].replace('``', '')}" if doc else ""))
        if row.get("commands"):
            lines.append(f"commands: {', '.join(row['commands'])}")
        status = row["status"] if not row["reason"] else f"{row['status']}: {row['reason']}"
        table.add_row(*(escape(cell) for cell in (row["name"], row["distribution"],
                                                  row["version"], status, "\n".join(lines))))
    Console().print(table)
    return 0

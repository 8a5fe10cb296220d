"""Everything the build side shows in colour (rich): the plan table, the compatibility table,
progress lines. Other modules compute; this one prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from builder.compat import Report
    from builder.plan import PlanResult

err_console = Console(stderr=True)


def note(text: str) -> None:
    """A progress line on stderr (dim label first, rich markup allowed)."""
    err_console.print(text)


def print_plan(result: PlanResult) -> None:
    out = Console()
    res = result.resolution
    if res.problems:
        return
    table = Table(title=f"{res.target}: {len(res.packages)} packages to carry", show_lines=False)
    for col in ("package", "repo", "size"):
        table.add_column(col)
    for p in res.packages:
        mark = " [bold yellow](baseline upgrade)[/]" if p in res.baseline_upgrades else ""
        table.add_row(p.nevra + mark, p.repo, f"{p.size:,}")
    out.print(table)
    if res.baseline_upgrades:
        out.print(f"[bold yellow]WARNING: {len(res.baseline_upgrades)} packages of the target's base install "
                  f"will be UPGRADED:[/] " + ", ".join(p.nevra for p in res.baseline_upgrades))
    if res.baseline_removals:
        out.print("[bold yellow]WARNING: these installed packages will be REPLACED (obsoleted):[/] "
                  + ", ".join(res.baseline_removals))
    for w in res.warnings:
        out.print(f"[yellow]warning:[/] {w}")
    print_compat(result.report, out)


def print_compat(report: Report, console: Console) -> None:
    if not report.rows:
        return
    table = Table(title="compatibility")
    for col in ("check", "subject", "status", "detail"):
        table.add_column(col)
    colour = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red"}
    for c, s, st, d in report.rows:
        table.add_row(c, s, f"[{colour[st]}]{st}[/]", d)
    console.print(table)

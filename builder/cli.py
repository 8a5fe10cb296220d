"""The ``ha-bundle`` command line (typer). The only module that maps errors to exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from builder import __version__, report
from builder.errors import HaBundleError

app = typer.Typer(
    name="ha-bundle",
    help="Build verified, offline, self-extracting HA installers (keepalived + MySQL/MariaDB).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

MIRROR_HELP = "Override a repo's baseurl: ID=URL (repeatable)."
CACHE_HELP = "Metadata and RPM cache directory (default: $HA_BUNDLE_CACHE or ~/.cache/ha-bundle)."


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ha-bundle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Build verified, offline, self-extracting HA installers."""


def _mirrors(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        repo_id, sep, url = value.partition("=")
        if not sep or not repo_id or not url:
            raise HaBundleError("bad-mirror-option", f"--mirror expects ID=URL, got {value!r}",
                                hint="example: --mirror base=https://mirror.example/centos/7/os/x86_64/")
        out[repo_id.strip()] = url.strip()
    return out


@app.command()
def resolve(
    manifest: Path = typer.Argument(..., help="Manifest file, e.g. manifests/el7.toml."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    mirror: list[str] = typer.Option([], "--mirror", help=MIRROR_HELP),
    cache: Optional[Path] = typer.Option(None, "--cache", help=CACHE_HELP),
) -> None:
    """Resolve the package set for the target (no RPM download)."""
    from builder import plan

    result = plan.resolve_manifest(manifest, mirrors=_mirrors(mirror), cache_dir=cache,
                                   quiet=as_json)
    if as_json:
        # compact: the C encoder is ~10x faster than indent= on large plans
        typer.echo(json.dumps(result.to_json(), sort_keys=True))
    else:
        report.print_plan(result)
    if result.problems:
        if not as_json:
            sys.stderr.write(plan.problems_text(result) + "\n")
        raise typer.Exit(2)


@app.command()
def fetch(
    manifest: Path = typer.Argument(..., help="Manifest file."),
    out: Path = typer.Option(Path("dist"), "--out", help="Output directory."),
    mirror: list[str] = typer.Option([], "--mirror", help=MIRROR_HELP),
    cache: Optional[Path] = typer.Option(None, "--cache", help=CACHE_HELP),
    jobs: int = typer.Option(4, "--jobs", min=1, max=32, help="Parallel downloads."),
) -> None:
    """Resolve, download and verify the RPMs; write OUT/<target>/ with lock and SBOM."""
    from builder import plan

    staged = plan.fetch_manifest(manifest, out, mirrors=_mirrors(mirror), cache_dir=cache, jobs=jobs)
    typer.echo(f"wrote {staged.directory} ({len(staged.lock['packages'])} packages)")


@app.command()
def build(
    manifest: Path = typer.Argument(..., help="Manifest file."),
    out: Path = typer.Option(Path("dist"), "--out", help="Output directory."),
    site: Optional[Path] = typer.Option(None, "--site", help="Bake this site.toml into the bundle."),
    mirror: list[str] = typer.Option([], "--mirror", help=MIRROR_HELP),
    cache: Optional[Path] = typer.Option(None, "--cache", help=CACHE_HELP),
    jobs: int = typer.Option(4, "--jobs", min=1, max=32, help="Parallel downloads."),
    compression: str = typer.Option("xz", "--compression", help="Payload compression: xz or zstd."),
) -> None:
    """Resolve + fetch + assemble OUT/ha-installer-<target>.run."""
    from builder import bundle, plan

    if compression not in bundle.COMPRESSIONS:  # before any download or write
        raise HaBundleError("bad-compression", f"--compression must be xz or zstd, got {compression!r}",
                            hint="use --compression xz (any target) or zstd (el8 and later)")
    staged = plan.fetch_manifest(manifest, out, mirrors=_mirrors(mirror), cache_dir=cache, jobs=jobs)
    run_path = bundle.assemble(staged, out, site=site, compression=compression)
    typer.echo(f"wrote {run_path}")


@app.command()
def inspect(
    run_file: Path = typer.Argument(..., help="A ha-installer-<target>.run file."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show what a .run holds, without executing it."""
    from builder import runfile

    info = runfile.inspect(run_file)
    if as_json:
        typer.echo(json.dumps(info, indent=2, sort_keys=True))
    else:
        runfile.print_info(info)


@app.command()
def verify(run_file: Path = typer.Argument(..., help="A ha-installer-<target>.run file.")) -> None:
    """Check a .run's size and sha256 (and its lock) without executing it."""
    from builder import runfile

    runfile.verify(run_file)
    typer.echo(f"{run_file}: OK")


@app.command()
def manifests(
    directory: Path = typer.Argument(Path("manifests"), help="Directory of manifests."),
) -> None:
    """List the OS targets described by the manifests in DIRECTORY."""
    from builder import manifest as manifest_mod

    for path in sorted(directory.glob("*.toml")):
        m = manifest_mod.load(path)
        typer.echo(f"{m.target.name:10} {m.target.os_major:3} {m.target.basearch:8} {path}")


def main() -> None:
    try:
        app()
    except HaBundleError as exc:
        sys.stderr.write(exc.render() + "\n")  # unwrapped: paths and NEVRAs stay greppable
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        report.note("interrupted")
        sys.exit(130)

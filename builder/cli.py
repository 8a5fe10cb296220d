"""The ``ha-bundle`` command line (typer). The only module that turns errors into exit codes (builder.exitcodes)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from builder import __version__, exitcodes, report
from builder.errors import HaBundleError

if TYPE_CHECKING:
    from builder.transfer import Limits

app = typer.Typer(
    name="ha-bundle",
    help="Build verified, offline, self-extracting HA installers (keepalived + MySQL/MariaDB).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

MIRROR_HELP = "Override a repo's baseurl: ID=URL (repeatable)."
CACHE_HELP = "Metadata and RPM cache directory (default: $HA_BUNDLE_CACHE or ~/.cache/ha-bundle)."
TIMEOUT_OPTION = typer.Option(20.0, "--timeout", min=0.1, help="Seconds to wait for a mirror to connect or send data.")
DEADLINE_OPTION = typer.Option(900.0, "--deadline", min=1.0,
                               help="Overall seconds per repo (its metadata, then its RPMs), retries included.")
RETRIES_OPTION = typer.Option(4, "--retries", min=0, max=20, help="More tries per file after a timeout or 5xx.")


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
                                hint="example: --mirror base=https://mirror.example/centos/7/os/x86_64/",
                                exit_code=exitcodes.USAGE)
        out[repo_id.strip()] = url.strip()
    return out


def _limits(timeout: float, deadline: float, retries: int) -> "Limits":
    from builder.transfer import Limits

    return Limits(timeout=timeout, deadline=deadline, retries=retries)


@app.command()
def resolve(
    manifest: Path = typer.Argument(..., help="Manifest file, e.g. manifests/el7.toml."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    mirror: list[str] = typer.Option([], "--mirror", help=MIRROR_HELP),
    cache: Optional[Path] = typer.Option(None, "--cache", help=CACHE_HELP),
    timeout: float = TIMEOUT_OPTION,
    deadline: float = DEADLINE_OPTION,
    retries: int = RETRIES_OPTION,
) -> None:
    """Resolve the package set for the target (no RPM download)."""
    from builder import plan

    result = plan.resolve_manifest(manifest, mirrors=_mirrors(mirror), cache_dir=cache,
                                   quiet=as_json, limits=_limits(timeout, deadline, retries))
    if as_json:
        # compact (the C encoder is ~10x faster than indent=), streamed package by package
        result.write_json(sys.stdout)
        sys.stdout.flush()
    else:
        report.print_plan(result)
    if result.problems:
        if not as_json:
            sys.stderr.write(plan.problems_text(result) + "\n")
        raise typer.Exit(exitcodes.UNSATISFIABLE)


@app.command()
def fetch(
    manifest: Path = typer.Argument(..., help="Manifest file."),
    out: Path = typer.Option(Path("dist"), "--out", help="Output directory."),
    mirror: list[str] = typer.Option([], "--mirror", help=MIRROR_HELP),
    cache: Optional[Path] = typer.Option(None, "--cache", help=CACHE_HELP),
    jobs: int = typer.Option(4, "--jobs", min=1, max=32, help="Parallel downloads."),
    timeout: float = TIMEOUT_OPTION,
    deadline: float = DEADLINE_OPTION,
    retries: int = RETRIES_OPTION,
) -> None:
    """Resolve, download and verify the RPMs; write OUT/<target>/ with lock and SBOM."""
    from builder import plan

    staged = plan.fetch_manifest(manifest, out, mirrors=_mirrors(mirror), cache_dir=cache, jobs=jobs,
                                 limits=_limits(timeout, deadline, retries))
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
    timeout: float = TIMEOUT_OPTION,
    deadline: float = DEADLINE_OPTION,
    retries: int = RETRIES_OPTION,
    sign: Optional[str] = typer.Option(None, "--sign", metavar="KEYID",
                                       help="Sign the whole .run with this GnuPG key: OUT/ha-installer-<target>.run.asc."),
    gpg_homedir: Optional[Path] = typer.Option(None, "--gpg-homedir", help="GnuPG home of the signing key."),
    update_from: Optional[Path] = typer.Option(None, "--update-from", metavar="OLD",
                                               help="Build an update bundle for hosts installed from OLD (a .run or "
                                                    "its bundle.lock.json): only new or changed RPMs."),
    allow_downgrade: bool = typer.Option(False, "--allow-downgrade",
                                         help="With --update-from: accept packages older than OLD's."),
) -> None:
    """Resolve + fetch + assemble OUT/ha-installer-<target>.run (with --update-from:
    OUT/ha-installer-<target>-update.run); prints its sha256 as sha256sum does."""
    from builder import bundle, plan

    if compression not in bundle.COMPRESSIONS:  # before any download or write
        raise HaBundleError("bad-compression", f"--compression must be xz or zstd, got {compression!r}",
                            hint="use --compression xz (any target) or zstd (el8 and later)",
                            exit_code=exitcodes.USAGE)
    run_path, sha256 = plan.build_manifest(manifest, out, mirrors=_mirrors(mirror), cache_dir=cache, jobs=jobs,
                                           limits=_limits(timeout, deadline, retries), compression=compression,
                                           site=site, sign=sign, gpg_homedir=gpg_homedir,
                                           update_from=update_from, allow_downgrade=allow_downgrade)
    typer.echo(f"wrote {run_path}")
    if sign:
        typer.echo(f"wrote {run_path}.asc (signed by {sign})")
    typer.echo(f"{sha256}  {run_path}")  # exactly sha256sum's line: publish it


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
    if info["problems"]:
        raise typer.Exit(exitcodes.DAMAGED)


@app.command()
def verify(
    run_file: Path = typer.Argument(..., help="A ha-installer-<target>.run file."),
    signature: bool = typer.Option(False, "--signature", help="Also check RUN_FILE.asc (needs --key)."),
    key: Optional[Path] = typer.Option(None, "--key", help="The signer's public key file (gpg --export --armor)."),
) -> None:
    """Check a .run's size and sha256 (and its lock) without executing it; with --signature,
    first that RUN_FILE.asc was made by KEY over the whole file."""
    from builder import runfile, signing

    if signature or key:
        if key is None:
            raise HaBundleError("signature-key-needed", "--signature needs --key FILE (the signer's public key)",
                                hint="ha-bundle verify --signature --key build-team.asc FILE",
                                exit_code=exitcodes.USAGE)
        fingerprint = signing.verify(run_file, key)
        typer.echo(f"{run_file}: signature OK (key {fingerprint})")
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


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so staging and assembly directories are removed."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Run one command; every failure ends as a message and a code from builder.exitcodes."""
    try:
        from typer import _click as click  # typer >= 0.28 ships its own copy of click
    except ImportError:  # pragma: no cover - older typer uses click itself
        import click  # type: ignore[no-redef]

    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(args=argv, standalone_mode=False)
    except click.exceptions.ClickException as exc:  # usage errors: their own code, never 2
        exc.show()
        sys.exit(exitcodes.USAGE)
    except BaseException as exc:  # noqa: BLE001 - the one place that turns failures into codes
        if isinstance(exc, SystemExit):
            raise
        if type(exc).__name__ == "Abort":  # click's Ctrl-C/EOF at a prompt
            exc = KeyboardInterrupt()
        message, code = exitcodes.describe(exc)
        sys.stderr.write(message + "\n")  # unwrapped: paths and NEVRAs stay greppable
        _exit(code)
    if code == exitcodes.INTERRUPTED:  # typer turns Ctrl-C into a return value
        sys.stderr.write(exitcodes.describe(KeyboardInterrupt())[0] + "\n")
    _exit(code if isinstance(code, int) else exitcodes.OK)


def _exit(code: int) -> None:
    if code == exitcodes.INTERRUPTED:
        from builder import outputs

        outputs.remove_unfinished()
        # cleanup has run; do not wait for a download thread blocked in a read
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)

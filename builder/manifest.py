"""Manifest format v1: load, validate and normalise ``manifests/<target>.toml``.

This is a public contract (docs/manifest.md): new keys may be added, existing ones never change
meaning. Every problem is reported with the file, the key (and line where we can find it) and
what was expected, never a traceback.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder import limits
from builder.errors import ManifestError

SUPPORTED_ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x", "i686")
# rpm version comparison operators accepted in a package spec; "==" is an alias of "="
OPERATORS = ("<=", ">=", "==", "=", "<", ">")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_TARGET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SPEC_RE = re.compile(r"^\s*(?P<name>[^\s<>=!~]+)\s*(?:(?P<op>[<>=!~]+)\s*(?P<evr>\S+))?\s*$")


@dataclass(frozen=True)
class PackageSpec:
    """One requested package: a name, optionally with an rpm comparison (``keepalived = 2.0.20``)."""

    name: str
    op: str = ""
    evr: str = ""

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.evr}" if self.op else self.name


@dataclass(frozen=True)
class Target:
    name: str
    releasever: str
    basearch: str
    os_ids: tuple[str, ...]
    os_major: str
    os_versions: tuple[str, ...] = ()   # VERSION_ID patterns accepted onsite (instead of the major)
    platform_id: str = ""               # modular repos: module contexts must allow it ("platform:an8")


@dataclass(frozen=True)
class Repo:
    id: str
    baseurl: str  # http(s)://, file:// or an absolute local path (relative ones are resolved)
    gpgkey: str = ""
    module_hotfixes: bool = False


@dataclass(frozen=True)
class Baseline:
    packages: tuple[str, ...] = ()
    rpm_qa: Path | None = None
    repos: tuple[str, ...] = ()  # repos a minimal install comes from (default: all)


@dataclass(frozen=True)
class Install:
    packages: tuple[PackageSpec, ...]
    local_rpms: tuple[Path, ...] = ()
    bootstrap_python: bool = False
    local_rpms_gpgkey: str = ""  # every local RPM must be signed by this key; "" = listed as unsigned


@dataclass(frozen=True)
class Modules:
    enable: tuple[tuple[str, str], ...] = ()  # (module, stream)
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class App:
    """The customer's application release the bundle carries (optional [app] table)."""

    name: str                      # service and user name, e.g. "itv"
    version: str                   # release name: <prefix>/releases/<version>
    source: Path                   # a directory or a .tar.gz/.tgz of the release
    start: str                     # start command, run in the release directory
    port: int
    health_path: str = "/"
    data_dirs: tuple[str, ...] = ()    # absolute paths of uploaded data: never overwritten or deleted
    runtime: tuple[PackageSpec, ...] = ()  # packages the app needs (resolved like install.packages)
    user: str = ""                 # service user; default: the app name


@dataclass(frozen=True)
class Manifest:
    path: Path
    sha256: str
    target: Target
    repos: tuple[Repo, ...]
    baseline: Baseline
    install: Install
    modules: Modules = field(default_factory=Modules)
    app: App | None = None

    def substitute(self, url: str) -> str:
        return url.replace("$releasever", self.target.releasever).replace("$basearch", self.target.basearch)


# key -> (type, required) per table; extend here, never repurpose
_SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "target": {"name": (str, True), "releasever": (str, True), "basearch": (str, True),
               "os_ids": (list, True), "os_major": (str, True), "os_versions": (list, False),
               "platform_id": (str, False)},
    "repo": {"id": (str, True), "baseurl": (str, True), "gpgkey": (str, False),
             "module_hotfixes": (bool, False)},
    "baseline": {"packages": (list, False), "rpm_qa": (str, False), "repos": (list, False)},
    "install": {"packages": (list, True), "local_rpms": (list, False), "local_rpms_gpgkey": (str, False),
                "bootstrap_python": (bool, False)},
    "modules": {"enable": (list, False), "disable": (list, False)},
    "app": {"name": (str, True), "version": (str, True), "source": (str, True), "start": (str, True),
            "port": (int, True), "health_path": (str, False), "data_dirs": (list, False),
            "runtime": (list, False), "user": (str, False)},
}
_TOP = {"target": dict, "repo": list, "baseline": dict, "install": dict, "modules": dict, "app": dict}
_TYPE_WORDS = {str: "a string", list: "a list", bool: "true or false", dict: "a table", int: "a whole number"}
_APP_NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")          # a Linux user/service name
_APP_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


class _Checker:
    """Validates one manifest file, remembering its text to point at line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str | None) -> int | None:
        in_table = False
        header = re.compile(r"^\s*\[\[?\s*" + re.escape(table) + r"\s*\]\]?\s*(#.*)?$")
        for number, line in enumerate(self.lines, 1):
            if header.match(line):
                if key is None:
                    return number
                in_table = True
            elif re.match(r"^\s*\[", line):
                in_table = False
            elif in_table and key and re.match(r"^\s*" + re.escape(key) + r"\s*=", line):
                return number
        return None

    def fail(self, key: str, expected: str, table: str, got: Any = None) -> ManifestError:
        line = self.line_of(table, key.rsplit(".", 1)[1] if "." in key else None)
        where = f"{self.path}:{line}" if line else str(self.path)
        context = [f"file: {where}", f"key: {key}", f"expected: {expected}"]
        if got is not None:
            context.append(f"got: {got!r}")
        return ManifestError("manifest-invalid", f"manifest {self.path.name}: {key} is not valid", context,
                             hint="fix the key as described (format: docs/manifest.md)")

    def table(self, name: str, data: Any, display: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(display, "a table", name, data)
        schema = _SCHEMA[name]
        for key in data:
            if key not in schema:
                raise self.fail(f"{display}.{key}", f"one of: {', '.join(schema)} (unknown key)", name)
        for key, (kind, required) in schema.items():
            if key not in data:
                if required:
                    raise self.fail(f"{display}.{key}", f"{_TYPE_WORDS[kind]} (required)", name)
                continue
            if not isinstance(data[key], kind) or (kind is not bool and isinstance(data[key], bool)):
                raise self.fail(f"{display}.{key}", _TYPE_WORDS[kind], name, data[key])
        return data

    def strings(self, display: str, values: list[Any], table: str, allow_empty: bool = True) -> tuple[str, ...]:
        if not allow_empty and not values:
            raise self.fail(display, "a non-empty list of strings", table, values)
        for value in values:
            if not isinstance(value, str) or not value.strip():
                raise self.fail(display, "a list of non-empty strings", table, value)
        return tuple(v.strip() for v in values)


def parse_package_spec(text: str) -> PackageSpec:
    """``name`` or ``name OP version``; raises ValueError with the reason."""
    match = _SPEC_RE.match(text)
    if not match:
        raise ValueError("expected 'name' or 'name OP version' (OP one of = == >= <= > <)")
    name, op, evr = match.group("name"), match.group("op") or "", match.group("evr") or ""
    if not _NAME_RE.match(name):
        raise ValueError(f"package name {name!r} has characters rpm does not allow")
    if op and op not in OPERATORS:
        raise ValueError(f"unknown version operator {op!r}: use one of = == >= <= > <")
    if op == "==":
        op = "="
    if op and not re.match(r"^(\d+:)?[A-Za-z0-9._+~^]+(-[A-Za-z0-9._+~^]+)?$", evr):
        raise ValueError(f"version {evr!r} is not [epoch:]version[-release]")
    return PackageSpec(name, op, evr)


def _resolve_location(base: Path, value: str) -> str:
    if re.match(r"^[a-z][a-z0-9+.-]*://", value):
        return value
    return str((base / value).resolve())


def load(path: Path | str) -> Manifest:
    """Read and validate a manifest; raise ManifestError naming file, key and expectation."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError("manifest-unreadable", f"cannot read manifest {path}", [str(exc.strerror or exc)],
                            hint="check the path; manifests live in manifests/<target>.toml") from None
    text = raw.decode("utf-8", errors="replace")
    limits.check_manifest_text(path, raw)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError("manifest-syntax", f"manifest {path} is not valid TOML", [f"{path}: {exc}"],
                            hint="fix the TOML syntax at the line shown") from None
    except RecursionError:
        raise limits.too_deep(path) from None
    limits.check_manifest_data(path, data)
    check = _Checker(path, text)
    for key in data:
        if key not in _TOP:
            raise check.fail(key, f"one of the tables: {', '.join(_TOP)} (unknown table)", key)
    for key in ("target", "repo", "install"):
        if key not in data:
            raise check.fail(key, "present (required table)", key)
    base = path.resolve().parent

    t = check.table("target", data["target"], "target")
    if not _TARGET_NAME_RE.match(t["name"]):
        raise check.fail("target.name", "lower-case letters, digits, '.', '_' or '-'", "target", t["name"])
    if t["basearch"] not in SUPPORTED_ARCHES:
        raise check.fail("target.basearch", f"one of {', '.join(SUPPORTED_ARCHES)}", "target", t["basearch"])
    if not re.match(r"^\d+$", t["os_major"]):
        raise check.fail("target.os_major", "a whole number as a string, e.g. \"7\"", "target", t["os_major"])
    target = Target(t["name"], t["releasever"], t["basearch"],
                    tuple(s.lower() for s in check.strings("target.os_ids", t["os_ids"], "target", False)),
                    t["os_major"],
                    tuple(check.strings("target.os_versions", t.get("os_versions") or [], "target", True)),
                    t.get("platform_id", ""))
    if target.platform_id and not re.match(r"^platform:[A-Za-z0-9._+-]+$", target.platform_id):
        raise check.fail("target.platform_id", 'the os-release PLATFORM_ID form, e.g. "platform:an8"', "target",
                         target.platform_id)

    if not isinstance(data["repo"], list) or not data["repo"]:
        raise check.fail("repo", "one or more [[repo]] tables", "repo", data["repo"])
    repos: list[Repo] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["repo"]):
        r = check.table("repo", entry, f"repo[{index}]")
        if not _NAME_RE.match(r["id"]) or r["id"] in seen:
            raise check.fail(f"repo[{index}].id", "a unique id of letters, digits, '.', '_' or '-'", "repo", r["id"])
        seen.add(r["id"])
        gpgkey = _resolve_location(base, r["gpgkey"]) if r.get("gpgkey") else ""
        repos.append(Repo(r["id"], _resolve_location(base, r["baseurl"]), gpgkey, r.get("module_hotfixes", False)))

    b = check.table("baseline", data.get("baseline", {}), "baseline")
    if ("packages" in b) == ("rpm_qa" in b):
        raise check.fail("baseline", "exactly one of baseline.packages or baseline.rpm_qa", "baseline")
    baseline_repos = check.strings("baseline.repos", b.get("repos", []), "baseline")
    unknown_repos = sorted(set(baseline_repos) - seen)
    if unknown_repos:
        raise check.fail("baseline.repos", f"ids of [[repo]] tables ({', '.join(sorted(seen))})", "baseline",
                         unknown_repos)
    baseline = Baseline(
        # an empty list would silently make the bundle carry bash and glibc
        check.strings("baseline.packages", b.get("packages", []), "baseline", allow_empty="packages" not in b),
        Path(_resolve_location(base, b["rpm_qa"])) if "rpm_qa" in b else None,
        baseline_repos,
    )

    i = check.table("install", data["install"], "install")
    specs = []
    for value in check.strings("install.packages", i["packages"], "install", False):
        try:
            specs.append(parse_package_spec(value))
        except ValueError as exc:
            raise check.fail("install.packages", str(exc), "install", value) from None
    install = Install(
        tuple(specs),
        tuple(Path(_resolve_location(base, p)) for p in check.strings("install.local_rpms", i.get("local_rpms", []), "install")),
        i.get("bootstrap_python", False),
        _resolve_location(base, i["local_rpms_gpgkey"]) if i.get("local_rpms_gpgkey") else "",
    )

    m = check.table("modules", data.get("modules", {}), "modules")
    enable = []
    for value in check.strings("modules.enable", m.get("enable", []), "modules"):
        name, sep, stream = value.partition(":")
        if not sep or not _NAME_RE.match(name) or not _NAME_RE.match(stream):
            raise check.fail("modules.enable", "entries of the form 'module:stream', e.g. 'mariadb:10.5'",
                             "modules", value)
        enable.append((name, stream))
    disable = check.strings("modules.disable", m.get("disable", []), "modules")
    clash = {n for n, _ in enable} & set(disable)
    if clash:
        raise check.fail("modules.disable", "modules not also listed in modules.enable", "modules", sorted(clash))

    app = _app(check, data["app"], base) if "app" in data else None
    if app is not None and app.runtime:
        # the app's runtime is resolved with everything else (same pins, same closure proof)
        named = {s.name for s in install.packages}
        install = Install(install.packages + tuple(s for s in app.runtime if s.name not in named),
                          install.local_rpms, install.bootstrap_python, install.local_rpms_gpgkey)
    return Manifest(path.resolve(), hashlib.sha256(raw).hexdigest(), target, tuple(repos), baseline, install,
                    Modules(tuple(enable), disable), app)


def _app(check: _Checker, data: Any, base: Path) -> App:
    a = check.table("app", data, "app")
    if not _APP_NAME_RE.match(a["name"]):
        raise check.fail("app.name", "a service/user name: a-z 0-9 _ -, starting with a letter, at most 31",
                         "app", a["name"])
    if not _APP_VERSION_RE.match(a["version"]):
        raise check.fail("app.version", "letters, digits, '.', '_', '+' or '-' (a directory name)", "app",
                         a["version"])
    if not 1 <= a["port"] <= 65535:
        raise check.fail("app.port", "a TCP port 1-65535", "app", a["port"])
    health = a.get("health_path", "/")
    if not health.startswith("/") or any(c.isspace() for c in health):
        raise check.fail("app.health_path", "an HTTP path starting with '/'", "app", health)
    if not a["start"].strip() or "\n" in a["start"]:
        raise check.fail("app.start", "one command line", "app", a["start"])
    dirs = check.strings("app.data_dirs", a.get("data_dirs", []), "app")
    for value in dirs:
        if not value.startswith("/") or "/../" in value + "/" or value.rstrip("/") in ("", "/etc", "/usr", "/var"):
            raise check.fail("app.data_dirs", "absolute directories of the app's own data, e.g. /data/itv/uploads",
                             "app", value)
    runtime = []
    for value in check.strings("app.runtime", a.get("runtime", []), "app"):
        try:
            runtime.append(parse_package_spec(value))
        except ValueError as exc:
            raise check.fail("app.runtime", str(exc), "app", value) from None
    user = a.get("user", a["name"])
    if not _APP_NAME_RE.match(user) or user == "root":
        raise check.fail("app.user", "a non-root user name", "app", user)
    source = Path(_resolve_location(base, a["source"]))
    if re.match(r"^[a-z][a-z0-9+.-]*://", a["source"]):
        raise check.fail("app.source", "a local directory or .tar.gz next to the manifest", "app", a["source"])
    return App(a["name"], a["version"], source, a["start"].strip(), a["port"], health, dirs, tuple(runtime), user)

"""Write fixture manifests for tests (TOML text, so tests exercise the real loader)."""

from __future__ import annotations

import json
from pathlib import Path

OS_FACTS = {
    "el7": {"releasever": "7", "os_major": "7", "baseline_repos": ["base"],
            "baseline": ["bash", "glibc", "openssl-libs", "systemd", "postfix", "iptables"]},
    "el8": {"releasever": "8", "os_major": "8", "baseline_repos": ["baseos"],
            "baseline": ["bash", "glibc", "openssl-libs", "systemd", "platform-python"]},
    "el9": {"releasever": "9", "os_major": "9", "baseline_repos": ["baseos"],
            "baseline": ["bash", "glibc", "openssl-libs", "systemd", "python3"]},
}


def q(values: list[str]) -> str:
    return json.dumps(values)


def write_manifest(directory: Path, os_name: str, repos: dict[str, str], install: list[str], *,
                   name: str = "", local: str = "", enable: tuple[str, ...] = (),
                   disable: tuple[str, ...] = (), bootstrap: bool = False,
                   baseline: list[str] | None = None, baseline_repos: list[str] | None = None,
                   rpm_qa: Path | None = None) -> Path:
    """baseline_repos: None = the OS's own repos, [] = leave the key out; rpm_qa replaces packages."""
    facts = OS_FACTS[os_name]
    lines = ["[target]", f'name = "{name or os_name}"', f'releasever = "{facts["releasever"]}"',
             'basearch = "x86_64"', 'os_ids = ["centos", "rhel", "rocky"]', f'os_major = "{facts["os_major"]}"', ""]
    for repo_id, url in repos.items():
        lines += ["[[repo]]", f'id = "{repo_id}"', f'baseurl = "{url}"', ""]
    base_repos = [r for r in facts["baseline_repos"] if r in repos] if baseline_repos is None else baseline_repos
    lines += ["[baseline]"]
    if rpm_qa is not None:
        lines.append(f"rpm_qa = {q(str(rpm_qa))}")
    else:
        lines.append(f"packages = {q(baseline if baseline is not None else facts['baseline'])}")
    if base_repos:
        lines.append(f"repos = {q(base_repos)}")
    lines.append("")
    lines += ["[install]", f"packages = {q(install)}"]
    if local:
        lines.append(f"local_rpms = {q([local])}")
    if bootstrap:
        lines.append("bootstrap_python = true")
    if enable or disable:
        lines += ["", "[modules]", f"enable = {q(list(enable))}", f"disable = {q(list(disable))}"]
    path = directory / f"{name or os_name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fixture_repo_urls(base_url: str, os_name: str) -> dict[str, str]:
    return {
        "el7": {"base": f"{base_url}/el7/base", "updates": f"{base_url}/el7/updates",
                "mysql57-community": f"{base_url}/el7/mysql57-community"},
        "el8": {"baseos": f"{base_url}/el8/baseos", "appstream": f"{base_url}/el8/appstream"},
        "el9": {"baseos": f"{base_url}/el9/baseos", "appstream": f"{base_url}/el9/appstream",
                "mysql80-community": f"{base_url}/el9/mysql80-community"},
        "anolis8": {"baseos": f"{base_url}/an8/baseos", "appstream": f"{base_url}/an8/appstream"},
        "openeuler2203": {"os": f"{base_url}/oe2203/os", "everything": f"{base_url}/oe2203/everything",
                          "update": f"{base_url}/oe2203/update"},
        "openeuler2403": {"os": f"{base_url}/oe2403/os", "everything": f"{base_url}/oe2403/everything",
                          "update": f"{base_url}/oe2403/update"},
        "kylin10": {"base": f"{base_url}/ky10/base", "updates": f"{base_url}/ky10/updates"},
    }[os_name]

"""Which hosts a bundle accepts, decided by its manifest (issue 17, item 2): /etc/os-release as
each system really writes it, against lock targets the way manifests make them. openEuler
writes ID="openEuler" (mixed case, no ID_LIKE), Kylin VERSION_ID="V10", so os_versions
patterns stand in for the major there; every refusal names both systems."""

from __future__ import annotations

from pathlib import Path

import pytest

from onsite.core.errors import OnsiteError
from onsite.host import target

OS_RELEASE = {
    "openeuler2203": 'NAME="openEuler"\nVERSION="22.03 (LTS-SP3)"\nID="openEuler"\nVERSION_ID="22.03"\n'
                     'PRETTY_NAME="openEuler 22.03 (LTS-SP3)"\nANSI_COLOR="0;31"\n',
    "openeuler2403": 'NAME="openEuler"\nVERSION="24.03 (LTS)"\nID="openEuler"\nVERSION_ID="24.03"\n'
                     'PRETTY_NAME="openEuler 24.03 (LTS)"\nANSI_COLOR="0;31"\n',
    "openeuler2209": 'NAME="openEuler"\nVERSION="22.09"\nID="openEuler"\nVERSION_ID="22.09"\n',
    "kylin10": 'NAME="Kylin Linux Advanced Server"\nVERSION="V10 (Lance)"\nID="kylin"\nVERSION_ID="V10"\n'
               'PRETTY_NAME="Kylin Linux Advanced Server V10 (Lance)"\nANSI_COLOR="0;31"\n',
    "uos20": 'PRETTY_NAME="UnionTech OS Server 20"\nNAME="UnionTech OS Server 20"\nVERSION_ID="20"\n'
             'VERSION="20"\nID=uos\n',
    "anolis8": 'NAME="Anolis OS"\nVERSION="8.8"\nID="anolis"\nID_LIKE="rhel fedora centos"\nVERSION_ID="8.8"\n'
               'PLATFORM_ID="platform:an8"\nPRETTY_NAME="Anolis OS 8.8"\n',
    "rocky8": 'NAME="Rocky Linux"\nVERSION="8.9 (Green Obsidian)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
              'VERSION_ID="8.9"\n',
    "centos7": 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n',
}

# lock targets as the manifests in manifests/ make them (os_versions only where the major is not enough)
TARGETS = {
    "openeuler2203": {"os_ids": ["openeuler"], "os_major": "22", "os_versions": ["22.03"], "basearch": "x86_64"},
    "openeuler2403": {"os_ids": ["openeuler"], "os_major": "24", "os_versions": ["24.03"], "basearch": "x86_64"},
    "kylin10": {"os_ids": ["kylin"], "os_major": "10", "os_versions": ["V10"], "basearch": "x86_64"},
    "anolis8": {"os_ids": ["anolis"], "os_major": "8", "basearch": "x86_64"},
    "el7": {"os_ids": ["centos", "rhel", "ol"], "os_major": "7", "basearch": "x86_64"},
}
ACCEPTS = {"openeuler2203": {"openeuler2203"}, "openeuler2403": {"openeuler2403"}, "kylin10": {"kylin10"},
           "anolis8": {"anolis8"}, "el7": {"centos7"}}


def root_with(tmp_path: Path, name: str) -> str:
    (tmp_path / name / "etc").mkdir(parents=True)
    (tmp_path / name / "etc" / "os-release").write_text(OS_RELEASE[name])
    return str(tmp_path / name)


@pytest.mark.parametrize("bundle", sorted(TARGETS))
def test_each_bundle_accepts_its_own_system_and_refuses_the_others_naming_both(tmp_path, monkeypatch, bundle):
    monkeypatch.setattr(target.platform, "machine", lambda: "x86_64")
    lock = {"target": dict(TARGETS[bundle], name=bundle)}
    for host in sorted(OS_RELEASE):
        root = root_with(tmp_path, host)
        if host in ACCEPTS[bundle]:
            assert target.check(lock, root).startswith(OS_RELEASE[host].split('ID=')[1].split("\n")[0].strip('"'))
            continue
        with pytest.raises(OnsiteError) as err:
            target.check(lock, root)
        assert err.value.reference == "wrong-os", (bundle, host)
        have, want = err.value.params["have"], err.value.params["want"]
        rel = target.os_release(root)
        assert have == "%s %s" % (rel["ID"], rel["VERSION_ID"])
        assert want.startswith("/".join(TARGETS[bundle]["os_ids"]) + " ")


def test_a_manifest_gives_os_versions_to_the_lock(tmp_path):
    from builder import manifest

    text = (Path(__file__).resolve().parents[1] / "manifests" / "demo.toml").read_text()
    text = text.replace('os_major = "7"', 'os_major = "22"\nos_versions = ["22.03", "22.03*"]')
    path = tmp_path / "m.toml"
    path.write_text(text.replace('"../build', '"%s/build' % Path(__file__).resolve().parents[1]).replace(
        'source = "demo-app"', 'source = "%s/manifests/demo-app"' % Path(__file__).resolve().parents[1]))
    m = manifest.load(path)
    assert m.target.os_versions == ("22.03", "22.03*")
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace('os_versions = ["22.03", "22.03*"]', 'os_versions = "22.03"'))
    with pytest.raises(Exception) as err:
        manifest.load(bad)
    assert "os_versions" in str(err.value)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_targets_above_are_what_the_shipped_manifests_say(name):
    import tomllib

    shipped = Path(__file__).resolve().parents[1] / "manifests" / (name + ".toml")
    t = tomllib.loads(shipped.read_text())["target"]
    assert {k: t.get(k) for k in TARGETS[name] if k != "basearch"} == \
        {k: v for k, v in TARGETS[name].items() if k != "basearch"}, shipped
    assert t.get("os_versions") == TARGETS[name].get("os_versions")

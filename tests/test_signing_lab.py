"""A site that installed a signed bundle trusts its signer, and only its signer (issue 16, item 1).

One lab: the demo .run, signed with a throw-away builder key, installed on both nodes with
`--verify-signature KEY`. Then on a node that trusts the key, with no flag at all: the genuine
file runs; an unsigned copy, a copy signed by a stranger and a tampered copy are refused by the
header (exit 3) before anything runs, and nothing on the node changed; `--allow-untrusted`
runs with a loud warning and install journals the override.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.lab.fixtures import lab  # noqa: F401 (fixture)
from tests.ops_helpers import baseline_root, build_demo_run, config_hashes, on_both, py36_path, write_site
from tests.signing_helpers import detach_sign, make_key

pytestmark = [pytest.mark.lab, pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg not installed")]

TRUST_DIR = "/var/lib/ha-installer/trusted-keys"
INSIDE = "/run/ha-installer-demo.run"


@pytest.fixture(scope="module")
def signed_pair(lab, tmp_path_factory):
    base = tmp_path_factory.mktemp("signed-pair")
    fpr, public = make_key(base / "builder-home", "builder")
    stranger_fpr, _ = make_key(base / "stranger-home", "stranger")
    run = build_demo_run(base / "dist", ["--sign", fpr, "--gpg-homedir", str(base / "builder-home")])
    w = {"base": base, "run": run, "fpr": fpr, "public": public, "stranger": (base / "stranger-home", stranger_fpr),
         "site": write_site(base, vrid=58), "path": py36_path(base)}
    w["roots"] = {n: baseline_root(base / ("root-" + n), base / "cache") for n in ("ha1", "ha2")}
    for node in ("ha1", "ha2"):
        shutil.copy(str(public), str(lab.path(node, "/run/builder.asc")))
    res = on_both(lambda n: run_copy(lab, w, n, run, ["--verify-signature", "/run/builder.asc"], "install"))
    for node in ("ha1", "ha2"):
        assert res[node].returncode == 0, res[node].stdout + res[node].stderr
    w["install"] = res
    return w


def run_copy(lab, w, node, run, flags, *command, with_sig=True):
    """Copy run (and run.asc) into the node, then `sh RUN --accept FLAGS -- COMMAND`."""
    shutil.copy(str(run), str(lab.path(node, INSIDE)))
    sig = lab.path(node, INSIDE + ".asc")
    if with_sig:
        shutil.copy(str(run) + ".asc", str(sig))
    elif sig.exists():
        sig.unlink()
    args = list(command)
    if command and command[0] == "install":
        args += ["--site", w["site"], "--rpm-root", str(w["roots"][node]), "--peer-timeout", "240"]
    return lab.run(node, ["sh", INSIDE, "--accept"] + list(flags) + ["--"] + args, check=False, timeout=300,
                   env={"PATH": w["path"]})


def journal(lab, node):
    return json.loads(lab.read(node, "/var/lib/ha-installer/state.json"))


def test_the_first_signed_install_makes_the_site_trust_its_signer(lab, signed_pair):
    fpr = signed_pair["fpr"]
    for node in ("ha1", "ha2"):
        out = signed_pair["install"][node].stdout + signed_pair["install"][node].stderr
        assert "Signature OK: made by key %s" % fpr in out
        assert "this host now trusts installers signed by key %s" % fpr in out
        assert lab.run(node, ["ls", TRUST_DIR]).stdout.split() == [fpr + ".asc"]
        assert fpr in journal(lab, node)["trusted_keys"]


def test_a_genuine_later_installer_runs_without_any_flag(lab, signed_pair):
    res = run_copy(lab, signed_pair, "ha1", signed_pair["run"], [], "status")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Signature OK: made by key %s" % signed_pair["fpr"] in res.stderr


@pytest.mark.parametrize("case", ["unsigned", "stranger", "tampered"])
def test_an_installer_the_site_does_not_trust_is_refused_and_changes_nothing(lab, signed_pair, tmp_path, case):
    run = tmp_path / "ha-installer-demo.run"
    shutil.copy(str(signed_pair["run"]), str(run))
    if case == "stranger":
        detach_sign(*signed_pair["stranger"], run)
    elif case == "tampered":
        shutil.copy(str(signed_pair["run"]) + ".asc", str(run) + ".asc")
        data = bytearray(run.read_bytes())
        data[len(data) // 2] ^= 0x20
        run.write_bytes(bytes(data))
    before = (config_hashes(lab, "ha1"), lab.read("ha1", "/var/lib/ha-installer/state.json"))
    res = run_copy(lab, signed_pair, "ha1", run, [], "install", with_sig=case != "unsigned")
    assert res.returncode == 3, res.stdout + res.stderr
    expected = {"unsigned": "no signature: %s.asc is missing" % INSIDE,
                "stranger": "the signature does not verify with the keys this host trusts",
                "tampered": "the signature does not verify with the keys this host trusts"}[case]
    assert expected in res.stderr, res.stderr
    assert "--allow-untrusted" in res.stderr            # the way out is named
    assert "Running:" not in res.stderr and "[1/" not in res.stdout     # nothing ran
    assert (config_hashes(lab, "ha1"), lab.read("ha1", "/var/lib/ha-installer/state.json")) == before


def test_the_emergency_override_warns_and_is_journalled(lab, signed_pair, tmp_path):
    run = tmp_path / "ha-installer-demo.run"
    shutil.copy(str(signed_pair["run"]), str(run))      # no .asc beside it
    res = run_copy(lab, signed_pair, "ha2", run, ["--allow-untrusted"], "install", with_sig=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING: --allow-untrusted" in res.stderr and "SKIPPED" in res.stderr
    overrides = journal(lab, "ha2").get("signature_overrides") or []
    assert overrides and overrides[-1]["run"] == "ha-installer-demo.run", overrides
    # the override trusts nothing new
    assert lab.run("ha2", ["ls", TRUST_DIR]).stdout.split() == [signed_pair["fpr"] + ".asc"]


def test_update_bundles_must_be_signed_by_the_trusted_key_too(lab, signed_pair, tmp_path):
    from tests.ops_helpers import VIP, build_update_run, write_next_manifest

    home = str(signed_pair["base"] / "builder-home")
    manifest = write_next_manifest(tmp_path / "next", "1.0.9")
    signed = build_update_run(tmp_path / "signed", manifest, signed_pair["run"],
                              ["--sign", signed_pair["fpr"], "--gpg-homedir", home])
    unsigned = build_update_run(tmp_path / "unsigned", manifest, signed_pair["run"])
    holder = lab.wait_single_holder(VIP.split("/")[0], timeout=30)
    before = (config_hashes(lab, holder), lab.read(holder, "/var/lib/ha-installer/state.json"))
    res = run_copy(lab, signed_pair, holder, unsigned, [], "upgrade", "--site", signed_pair["site"], with_sig=False)
    assert res.returncode == 3 and "no signature" in res.stderr, res.stdout + res.stderr
    # the signed one passes the header; upgrade then asks for the standby first (nothing changed)
    res = run_copy(lab, signed_pair, holder, signed, [], "upgrade", "--site", signed_pair["site"],
                   "--rpm-root", str(signed_pair["roots"][holder]))
    assert "Signature OK: made by key %s" % signed_pair["fpr"] in res.stderr, res.stderr
    assert res.returncode == 13 and "is upgraded first" in res.stdout + res.stderr, res.stdout + res.stderr
    assert (config_hashes(lab, holder), lab.read(holder, "/var/lib/ha-installer/state.json")) == before

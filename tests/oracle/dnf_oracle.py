#!/usr/bin/python3
"""Second opinion on resolution: Debian's dnf (its Python API), run by the system python3.

Two phases like a real host: (1) dnf resolves the baseline from the baseline repos and records
it in a scratch rpmdb (`rpm --root R -i --justdb --nodeps`), (2) a fresh dnf Base on that
installroot installs the requested packages. Prints JSON: {"install": [...], "remove": [...]}
or {"error": "..."} with exit code 2 when dnf finds no solution.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import dnf
import hawkey
import dnf.exceptions
import dnf.module.module_base


def make_base(root, cachedir, releasever, arch, repos, platform):
    base = dnf.Base()
    conf = base.conf
    conf.installroot = root
    conf.cachedir = cachedir
    conf.releasever = releasever
    conf.substitutions["arch"] = arch
    conf.substitutions["basearch"] = arch
    conf.reposdir = []
    conf.gpgcheck = False
    conf.best = True
    conf.install_weak_deps = True
    conf.plugins = False
    if platform:
        conf.module_platform_id = platform
    for repo_id, url in repos:
        base.repos.add_new_repo(repo_id, conf, baseurl=[url], gpgcheck=False)
    base.fill_sack(load_system_repo=True)
    return base


def install_exact(base, names=(), nevras=(), arch="x86_64"):
    """Baseline names are those very packages (never an obsoleter): the host has what it names."""
    for name in names:
        # the best package of that name for the machine's arch (never the i686 multilib copy)
        pkgs = base.sack.query().available().filter(name=name, arch=[arch, "noarch"]).latest()
        if not pkgs:
            raise dnf.exceptions.PackageNotFoundError("no package named " + name)
        base.package_install(pkgs[0], strict=True)
    picked = []
    for nevra in nevras:
        n = hawkey.split_nevra(nevra)  # rpm -qa leaves the epoch out
        pkgs = base.sack.query().available().filter(name=n.name, version=n.version, release=n.release,
                                                    arch=n.arch)
        if pkgs:
            picked.append(pkgs[0])
    return picked


def solve(base, specs, enable=(), disable=()):
    if enable or disable:
        mb = dnf.module.module_base.ModuleBase(base)
        if disable:
            mb.disable(list(disable))
        if enable:
            mb.enable(list(enable))
    for spec in specs:
        base.install(spec)
    base.resolve()
    return base.transaction


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", action="append", default=[], help="ID=URL")
    ap.add_argument("--baseline-repo", action="append", default=[])
    ap.add_argument("--baseline", action="append", default=[])
    ap.add_argument("--baseline-nevra", action="append", default=[], help="rpm -qa style, installed as is")
    ap.add_argument("--install", action="append", default=[])
    ap.add_argument("--enable", action="append", default=[])
    ap.add_argument("--disable", action="append", default=[])
    ap.add_argument("--releasever", required=True)
    ap.add_argument("--arch", default="x86_64")
    ap.add_argument("--platform", default="")
    args = ap.parse_args()
    repos = [tuple(r.split("=", 1)) for r in args.repo]
    base_repos = [r for r in repos if not args.baseline_repo or r[0] in args.baseline_repo]
    with tempfile.TemporaryDirectory(prefix="hb-dnf-") as tmp:
        root, cache = os.path.join(tmp, "root"), os.path.join(tmp, "cache")
        os.makedirs(root)
        try:
            b1 = make_base(root, cache, args.releasever, args.arch, base_repos, args.platform)
            if args.baseline_nevra:  # exactly these, no dependency solving (a real host's rpmdb)
                pkgs = install_exact(b1, nevras=args.baseline_nevra)
            else:
                install_exact(b1, names=args.baseline, arch=args.arch)
                b1.resolve()
                pkgs = list(b1.transaction.install_set)
            b1.download_packages(pkgs)
            files = [p.localPkg() for p in pkgs]
            subprocess.run(["rpm", "--root", root, "-i", "--justdb", "--nodeps", "--noscripts"] + files,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            b1.close()
            b2 = make_base(root, cache, args.releasever, args.arch, repos, args.platform)
            t2 = solve(b2, args.install, args.enable, args.disable)
        except dnf.exceptions.Error as exc:
            print(json.dumps({"error": str(exc)}))
            return 2
        out = {"install": sorted(str(p) for p in t2.install_set),
               "remove": sorted(str(p) for p in t2.remove_set)}
        print(json.dumps(out))
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""``preflight``: read-only checks before anything is installed; exit 1 if one fails.

Each check is a function ctx -> (ok, text) in CHECKS; later issues append their own
(network, ports, disks) without touching the ones here.
"""

import os
import shutil
import sys

from onsite import messages, payload, rpmdb, target
from onsite.errors import OnsiteError

messages.register({
    "pf-ok": {"en": ("ok", ""), "zh_CN": ("通过", "")},
    "pf-fail": {"en": ("FAIL", ""), "zh_CN": ("失败", "")},
    "pf-root": {"en": ("running as root", ""), "zh_CN": ("以 root 身份运行", "")},
    "pf-python": {"en": ("python {version} (3.6 or newer needed)", ""),
                  "zh_CN": ("python {version} (需要 3.6 或更新)", "")},
    "pf-rpm": {"en": ("rpm command available", ""), "zh_CN": ("rpm 命令可用", "")},
    "pf-payload": {"en": ("bundle complete: {count} RPM files present", ""),
                   "zh_CN": ("安装包完整: {count} 个 RPM 文件均存在", "")},
    "pf-space": {"en": ("free space under {path}: {free} MiB (need {need} MiB)", ""),
                 "zh_CN": ("{path} 可用空间: {free} MiB (需要 {need} MiB)", "")},
    "pf-rpm-test": {"en": ("rpm -U --test: {todo} packages would install cleanly", ""),
                    "zh_CN": ("rpm -U --test: {todo} 个软件包可以正常安装", "")},
    "pf-rpm-test-none": {"en": ("rpm -U --test: all bundle packages already installed", ""),
                         "zh_CN": ("rpm -U --test: 安装包中所有软件包均已安装", "")},
    "pf-rpm-test-bad": {"en": ("rpm -U --test reports problems:", ""),
                        "zh_CN": ("rpm -U --test 报告问题:", "")},
    "pf-summary-ok": {"en": ("preflight passed: this host is ready for install", ""),
                      "zh_CN": ("预检通过: 本机可以执行 install", "")},
    "pf-summary-bad": {"en": ("preflight found {count} problem(s); fix them, then run preflight again", ""),
                       "zh_CN": ("预检发现 {count} 个问题; 请修复后重新运行 preflight", "")},
})


def add_arguments(parser):
    parser.add_argument("--root", default="/", help="check this rpm root instead of / (tests, chroots)")


def check_root(ctx):
    return os.geteuid() == 0, messages.text("pf-root")


def check_python(ctx):
    version = "{}.{}.{}".format(*sys.version_info[:3])
    return sys.version_info >= (3, 6), messages.text("pf-python", version=version)


def check_target(ctx):
    try:
        desc = target.check(ctx["lock"], ctx["root"])
    except OnsiteError as exc:
        return False, messages.text(exc.reference, **exc.params)
    return True, messages.text("install-target-ok", desc=desc, want=target.describe_want(ctx["lock"]["target"]))


def check_rpm(ctx):
    return shutil.which("rpm") is not None, messages.text("pf-rpm")


def check_payload(ctx):
    pkgs = payload.locked_packages(ctx["lock"])
    missing = [p["filename"] for p in pkgs if not os.path.isfile(os.path.join(ctx["dir"], p["filename"]))]
    text = messages.text("pf-payload", count=len(pkgs))
    if missing:
        return False, messages.text("payload-rpm-missing", count=len(missing))
    return True, text


def check_space(ctx):
    pkgs = payload.locked_packages(ctx["lock"])
    # installed size is unknown without reading headers; three times the RPM size is generous
    need = 3 * sum(int(p.get("size") or 0) for p in pkgs) // (1 << 20) + 64
    path = os.path.join(ctx["root"], "usr")
    while not os.path.exists(path):
        path = os.path.dirname(path)
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize // (1 << 20)
    return free >= need, messages.text("pf-space", path=path, free=free, need=need)


def check_rpm_test(ctx):
    try:
        pkgs = payload.locked_packages(ctx["lock"])
        todo = rpmdb.needed(pkgs, rpmdb.installed(ctx["root"]))
        if not todo:
            return True, messages.text("pf-rpm-test-none")
        files = [os.path.join(ctx["dir"], p["filename"]) for p in todo]
        code, output = rpmdb.run(["-U", "--test"] + files, ctx["root"])
    except OnsiteError as exc:
        return False, messages.text(exc.reference, **exc.params)
    if code == 0:
        return True, messages.text("pf-rpm-test", todo=len(todo))
    lines = [messages.text("pf-rpm-test-bad")] + ["    - " + line for line in rpmdb.explain(output)]
    return False, "\n".join(lines)


CHECKS = [check_root, check_python, check_target, check_rpm, check_payload, check_space, check_rpm_test]


def run(args):
    directory = payload.payload_dir()
    ctx = {"root": os.path.abspath(args.root), "dir": directory, "lock": payload.load_lock(directory)}
    failed = 0
    for check in CHECKS:
        ok, text = check(ctx)
        word = messages.text("pf-ok" if ok else "pf-fail")
        sys.stdout.write("[{}] {}\n".format(word, text))
        if not ok:
            failed += 1
    if failed:
        sys.stdout.write(messages.text("pf-summary-bad", count=failed) + "\n")
        return 1
    sys.stdout.write(messages.text("pf-summary-ok") + "\n")
    return 0

"""``install``: put the bundle's RPMs on this host (or into --root), checked first.

Order: OS/arch check -> skip packages already installed at the same or a newer version ->
``rpm -U --test`` (problems reported in plain words, nothing changed) -> ``rpm -U`` ->
``rpm -q`` proves every locked package is there. A second run finds nothing to do and says so.
"""

import os
import sys

from onsite import messages, payload, rpmdb, state, target
from onsite.errors import OnsiteError
from onsite.logfile import Log

messages.register({
    "install-target-ok": {"en": ("host: {desc}, matches the bundle target {want}", ""),
                          "zh_CN": ("主机: {desc}, 与安装包目标 {want} 一致", "")},
    "install-plan": {"en": ("{todo} of {total} bundle packages to install ({skip} already installed, same or newer)", ""),
                     "zh_CN": ("需要安装 {todo}/{total} 个软件包 ({skip} 个已安装相同或更新版本)", "")},
    "install-noop": {"en": ("nothing to do: all {total} bundle packages are already installed (same or newer version)", ""),
                     "zh_CN": ("无需操作: 安装包中全部 {total} 个软件包均已安装 (相同或更新版本)", "")},
    "install-testing": {"en": ("checking with rpm -U --test (changes nothing) ...", ""),
                        "zh_CN": ("正在用 rpm -U --test 检查 (不做任何改动) ...", "")},
    "install-running": {"en": ("installing {todo} packages with rpm -U ...", ""),
                        "zh_CN": ("正在用 rpm -U 安装 {todo} 个软件包 ...", "")},
    "install-done": {"en": ("installed {todo} packages; all {total} bundle packages are present (log: {log})", ""),
                     "zh_CN": ("已安装 {todo} 个软件包; 安装包中全部 {total} 个软件包均已就位 (日志: {log})", "")},
    "install-confirm": {"en": ("install {todo} packages onto this host? [y/N] ", ""),
                        "zh_CN": ("是否在本机安装 {todo} 个软件包? [y/N] ", "")},
    "install-declined": {
        "en": ("not confirmed: nothing was changed", "run again and answer y, or pass --accept to the installer"),
        "zh_CN": ("未确认: 未做任何改动", "请重新运行并回答 y, 或在运行安装程序时加 --accept"),
    },
    "install-conflicts": {
        "en": ("the packages cannot be installed as they are; nothing was changed (log: {log})",
               "remove or upgrade the conflicting packages listed above, then run install again"),
        "zh_CN": ("软件包无法按原样安装; 未做任何改动 (日志: {log})",
                  "请删除或升级上面列出的冲突软件包, 然后重新运行 install"),
    },
    "install-failed": {
        "en": ("rpm -U failed (log: {log})", "read the log, fix what rpm reports, then run install again"),
        "zh_CN": ("rpm -U 失败 (日志: {log})", "请查看日志并处理 rpm 报告的问题, 然后重新运行 install"),
    },
    "install-missing-after": {
        "en": ("rpm finished but {count} packages are still missing (log: {log})",
               "send the log to the build team"),
        "zh_CN": ("rpm 已结束但仍缺少 {count} 个软件包 (日志: {log})", "请将日志发送给构建团队"),
    },
    "payload-rpm-missing": {
        "en": ("the bundle is incomplete: {count} RPM files are missing",
               "run the installer with --check; copy the .run file again if it is damaged"),
        "zh_CN": ("安装包不完整: 缺少 {count} 个 RPM 文件", "请用 --check 运行安装程序; 如已损坏请重新拷贝 .run 文件"),
    },
})


def add_arguments(parser):
    parser.add_argument("--root", default="/", help="install into this rpm root (tests, chroots); default /")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def require_root():
    if os.geteuid() != 0:
        raise OnsiteError("not-root")


def payload_files(pkgs, directory):
    """Absolute paths of the packages' RPM files; raise if any is missing from the payload."""
    paths = [os.path.join(directory, pkg["filename"]) for pkg in pkgs]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise OnsiteError("payload-rpm-missing", {"count": len(missing)}, context=missing[:10])
    return paths


def accepted(args):
    return args.yes or os.environ.get("HA_INSTALLER_ACCEPT") == "yes"


def confirm(args, todo):
    """Ask on a terminal unless --accept/--yes; scripts (no terminal) proceed."""
    if accepted(args) or not sys.stdin.isatty():
        return
    sys.stdout.write(messages.text("install-confirm", todo=todo))
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes", "是"):
        raise OnsiteError("install-declined")


def run(args):
    require_root()
    root = os.path.abspath(args.root)
    directory = payload.payload_dir()
    lock = payload.load_lock(directory)
    desc = target.check(lock, root)
    say(messages.text("install-target-ok", desc=desc, want=target.describe_want(lock.get("target") or {})))
    pkgs = payload.locked_packages(lock)
    todo = rpmdb.needed(pkgs, rpmdb.installed(root))
    total = len(pkgs)
    if not todo:
        say(messages.text("install-noop", total=total))
        state.mark("install", "done", root=root, noop=True, packages=total)
        return 0
    say(messages.text("install-plan", todo=len(todo), total=total, skip=total - len(todo)))
    files = payload_files(todo, directory)
    confirm(args, len(todo))
    log = Log(root, "install")
    try:
        state.mark("install", "started", root=root, packages=[payload.nevra(p) for p in todo])
        say(messages.text("install-testing"))
        code, output = rpmdb.run(["-U", "--test"] + files, root, log)
        if code != 0:
            for line in rpmdb.explain(output):
                say("  - " + line)
            state.mark("install", "failed", root=root, reason="rpm -U --test")
            raise OnsiteError("install-conflicts", {"log": log.path})
        say(messages.text("install-running", todo=len(todo)))
        code, output = rpmdb.run(["-U"] + files, root, log)
        if code != 0:
            state.mark("install", "failed", root=root, reason="rpm -U")
            raise OnsiteError("install-failed", {"log": log.path}, context=rpmdb.explain(output)[:10])
        still = rpmdb.needed(pkgs, rpmdb.installed(root))
        if still:
            state.mark("install", "failed", root=root, reason="missing after rpm -U")
            raise OnsiteError("install-missing-after", {"count": len(still), "log": log.path},
                              context=[payload.nevra(p) for p in still[:10]])
        state.mark("install", "done", root=root, noop=False, installed=[payload.nevra(p) for p in todo])
        say(messages.text("install-done", todo=len(todo), total=total, log=log.path))
        return 0
    finally:
        log.close()

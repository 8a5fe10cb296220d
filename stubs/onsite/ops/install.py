"""``install``: preflight -> packages -> configure (firewall, keepalived, database) -> verify.

Each step is journalled before and after it runs (state.json), and every step is idempotent, so
a run killed at any point is finished by running install again: finished steps are re-checked
and change nothing, the interrupted one completes. A run on a finished node changes nothing
and says so. Without a site file (no --site, no site flags, none baked into the .run) only the
packages are installed, as before.

Packages: OS/arch check -> skip packages already installed at the same or a newer version ->
``rpm -U --test`` (problems reported in plain words, nothing changed) -> ``rpm -U`` ->
``rpm -q`` proves every locked package is there. ``--root``/``--rpm-root`` sends the packages
to a scratch rpm root (tests, chroots); configuration always applies to this host.
"""

import os
import sys
import time

from onsite.ops import configure as cmd_configure
from onsite.core import messages
from onsite.core import payload
from onsite.host import rpmdb
from onsite.core import state
from onsite.host import target
from onsite.site import sitefile as site_mod
from onsite.core.errors import OnsiteError
from onsite.core.logfile import Log

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
    "install-step-start": {"en": ("[{n}/{total}] {step} ...", ""), "zh_CN": ("[{n}/{total}] {step} ...", "")},
    "install-step-changed": {"en": ("[{n}/{total}] {step}: changed ({seconds:.1f} s)", ""),
                             "zh_CN": ("[{n}/{total}] {step}: 已更改 ({seconds:.1f} 秒)", "")},
    "install-step-unchanged": {"en": ("[{n}/{total}] {step}: ok, nothing to change ({seconds:.1f} s)", ""),
                               "zh_CN": ("[{n}/{total}] {step}: 正常, 无需更改 ({seconds:.1f} 秒)", "")},
    "install-resume": {"en": ("resuming: the last install stopped during step '{step}' ({time}); every step runs again, finished ones only check", ""),
                       "zh_CN": ("继续上次安装: 上次在步骤 '{step}' 中断 ({time}); 所有步骤重新运行, 已完成的步骤只做检查", "")},
    "install-all-noop": {
        "en": ("install: nothing changed: {name} was already installed, configured and verified", ""),
        "zh_CN": ("install: 未做任何更改: {name} 已完成安装、配置和验证", ""),
    },
    "install-all-done": {
        "en": ("install finished on {name}: packages, firewall, keepalived, database configured and verified",
               "run install on the other node ({peer}) if not done yet; then run 'drill' at handover"),
        "zh_CN": ("{name} 上的 install 已完成: 软件包、防火墙、keepalived、数据库均已配置并验证",
                  "如尚未完成, 请在另一节点 ({peer}) 上运行 install; 交接时运行 'drill'"),
    },
    "install-no-site": {
        "en": ("no site file: only the packages were installed, nothing was configured",
               "to configure this node too, run install again with --site site.toml"),
        "zh_CN": ("没有站点文件: 只安装了软件包, 未做任何配置",
                  "如需同时配置本节点, 请加 --site site.toml 重新运行 install"),
    },
    "install-preflight-failed": {
        "en": ("preflight found {count} problem(s); nothing was changed",
               "fix what is marked FAIL above, then run install again"),
        "zh_CN": ("预检发现 {count} 个问题; 未做任何更改", "请修复上面标为失败的项目, 然后重新运行 install"),
    },
    "install-verify-failed": {
        "en": ("verify found {count} problem(s) after configuring", "fix what is marked FAIL above, then run install again (it resumes)"),
        "zh_CN": ("配置后验证发现 {count} 个问题", "请修复上面标为失败的项目, 然后重新运行 install (会从中断处继续)"),
    },
    "payload-rpm-missing": {
        "en": ("the bundle is incomplete: {count} RPM files are missing",
               "run the installer with --check; copy the .run file again if it is damaged"),
        "zh_CN": ("安装包不完整: 缺少 {count} 个 RPM 文件", "请用 --check 运行安装程序; 如已损坏请重新拷贝 .run 文件"),
    },
})


def add_arguments(parser):
    parser.add_argument("--root", "--rpm-root", dest="root", default="/",
                        help="install the packages into this rpm root (tests, chroots); default /."
                             " Configuration still applies to this host")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    cmd_configure.add_step_arguments(parser)


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


def install_packages(args, root):
    """The packages step; returns True when it installed something."""
    directory = payload.payload_dir()
    lock = payload.load_lock(directory)
    desc = target.check(lock, root)
    say(messages.text("install-target-ok", desc=desc, want=target.describe_want(lock.get("target") or {})))
    pkgs = payload.locked_packages(lock)
    have = rpmdb.installed(root)
    todo = rpmdb.needed(pkgs, have)
    total = len(pkgs)
    if not todo:
        say(messages.text("install-noop", total=total))
        state.mark("install", "done", root=root, noop=True, packages=total)
        return False
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
        # 'added': names that were not installed at all before (uninstall --remove-packages
        # erases only these; upgrades of the host's own packages stay)
        state.mark("install", "done", root=root, noop=False, installed=[payload.nevra(p) for p in todo],
                   added=[payload.nevra(p) for p in todo if (p["name"], p["arch"]) not in have])
        say(messages.text("install-done", todo=len(todo), total=total, log=log.path))
        return True
    finally:
        log.close()


# ------------------------------------------------------------------ the whole install

def site_given(args):
    """True when there is a site: --site, site flags, or a site.toml baked into the .run."""
    baked = os.path.join(payload.payload_dir(), "site.toml")
    if not args.site and not args.vip and not args.node and os.path.isfile(baked):
        args.site = baked
    return bool(args.site or args.vip or args.node)


def step_names():
    return ["preflight", "packages"] + list(cmd_configure.STEPS) + ["verify"]


def preflight(args):
    """cmd_preflight's checks (host, bundle, node, VIP, peer, ports, disk, SELinux, clock);
    any FAIL stops install before anything changed. Prints the failing rows with their fix."""
    from onsite.core import checks
    from onsite.ops import preflight as cmd_preflight
    results = cmd_preflight.run_checks(cmd_preflight.context(args))
    bad = checks.failed(results)
    if bad:
        say(checks.render_table(bad))
        raise OnsiteError("install-preflight-failed", {"count": len(bad)}, exit_code=1)
    return False


def verify(site, local):
    """cmd_verify's checks after configuring (waits for the peer while only its side fails)."""
    from onsite.core import checks
    from onsite.ops import verify as cmd_verify
    results = cmd_verify.run_checks(site, local, out=say)
    bad = checks.failed(results)
    if bad:
        say(checks.render_table(bad))
        raise OnsiteError("install-verify-failed", {"count": len(bad)}, exit_code=1)
    return False


def run(args):
    require_root()
    root = os.path.abspath(args.root)
    if not site_given(args):
        install_packages(args, root)
        say(messages.text("install-no-site"))
        say("{}: {}".format(messages.text("word-next"), messages.hint("install-no-site")))
        return 0
    site, local, modules = cmd_configure.prepare(args)
    say(messages.text("configure-this-node", name=local.me.name, address=local.me.address,
                      peer=local.peer.address, vip=site.cluster.vip, interface=local.interface))
    names = step_names()
    journal = state.load().get("steps", {})
    for name in names:
        entry = journal.get("install-" + name) or {}
        if entry.get("status") in ("started", "failed"):
            say(messages.text("install-resume", step=name, time=entry.get("time")))
            break
    by_name = dict(modules)
    actions = {
        "preflight": lambda: preflight(args),
        "packages": lambda: install_packages(args, root),
        "verify": lambda: verify(site, local),
    }
    checked = []
    for name in cmd_configure.STEPS:
        actions[name] = (lambda n: lambda: _configure_step(n, by_name[n], site, local, modules,
                                                           checked))(name)
    any_change = False
    for number, name in enumerate(names, 1):
        say(messages.text("install-step-start", n=number, total=len(names), step=name))
        started = time.time()
        state.mark("install-" + name, "started")
        try:
            changed = bool(actions[name]())
        except BaseException:
            state.mark("install-" + name, "failed")
            raise
        state.mark("install-" + name, "done", changed=changed)
        any_change = any_change or changed
        ref = "install-step-changed" if changed else "install-step-unchanged"
        say(messages.text(ref, n=number, total=len(names), step=name, seconds=time.time() - started))
    if not any_change:
        say(messages.text("install-all-noop", name=local.me.name))
    else:
        say(messages.text("install-all-done", name=local.me.name))
        say("{}: {}".format(messages.text("word-next"), messages.hint("install-all-done", peer=local.peer.address)))
    return 0


def _configure_step(name, module, site, local, modules, checked):
    """One configure step; all configure checks run once, before the first one applies."""
    if not checked:
        cmd_configure.check_all(site, local, modules)
        site_mod.remember(site)     # status/verify/collect work later without the site file
        checked.append(True)
    changes = cmd_configure.apply_step(name, module, site, local)
    for line in changes:
        say("  " + line)
    return bool(changes)

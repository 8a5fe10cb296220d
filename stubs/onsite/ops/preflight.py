"""``preflight``: can this site work? Read-only checks before anything is installed or changed.

Each check is a function ctx -> checks.Result (or None when it does not apply) in CHECKS; add a
check by appending a function. Output: a table PASS/WARN/FAIL with the fix for each FAIL (or
``--json``); exit 1 when anything FAILs. Nothing here writes a file, a rule, an address or a
package: the only traffic is ARP (arping), ICMP timestamps (clockdiff) and, when clockdiff is
missing, one HTTP request to the peer's app port.

Checks that need the site (node, interface, VIP, peer, time skew) run when --site or the site
flags are given, or when configure recorded a site on this host; without any, preflight says
so and checks the host and the bundle only.
"""

import ipaddress
import os
import re
import shutil
import subprocess
import sys
import time

from onsite.host import arp as arpcheck
from onsite.core import checks
from onsite.db import paths as db_paths
from onsite.core import messages
from onsite.core import payload
from onsite.host import ports
from onsite.host import rpmdb
from onsite.host import target
from onsite.ops import install as cmd_install  # noqa: F401  (registers install-target-ok, payload-rpm-missing)
from onsite.site import sitefile as site_mod
from onsite.core.checks import FAIL, PASS, WARN, result
from onsite.core.errors import OnsiteError

# a database port is "held by the expected service" when one of these listens on it
DB_DAEMONS = ("mysqld", "mariadbd", "mysqld_safe")
SYSTEM_SCHEMAS = ("mysql", "performance_schema", "sys", "information_schema", "ha_bundle",
                  "lost+found", "test")
DB_SPACE_MIB = 1024            # free space the database needs besides a copy of existing data
SKEW_WARN, SKEW_FAIL = 2.0, 120.0

messages.register({
    "pf-root": {"en": ("running as root", ""), "zh_CN": ("以 root 身份运行", "")},
    "pf-not-root": {"en": ("not running as root (uid {uid})", "run it again as root (sudo)"),
                    "zh_CN": ("未以 root 身份运行 (uid {uid})", "请以 root 身份重新运行 (sudo)")},
    "pf-python": {"en": ("python {version} (3.6 or newer needed)", "use a host with python 3.6 or newer (el8: /usr/libexec/platform-python)"),
                  "zh_CN": ("python {version} (需要 3.6 或更新)", "请使用带 python 3.6 或更新版本的主机 (el8: /usr/libexec/platform-python)")},
    "pf-rpm": {"en": ("rpm command available", "this installer needs an rpm-based host (CentOS/RHEL)"),
               "zh_CN": ("rpm 命令可用", "本安装程序需要基于 rpm 的主机 (CentOS/RHEL)")},
    "pf-payload": {"en": ("bundle complete: {count} RPM files present", ""),
                   "zh_CN": ("安装包完整: {count} 个 RPM 文件均存在", "")},
    "pf-space": {"en": ("free space under {path}: {free} MiB (need {need} MiB)", "free space under {path} (old logs, caches), then run preflight again"),
                 "zh_CN": ("{path} 可用空间: {free} MiB (需要 {need} MiB)", "请清理 {path} 下的空间 (旧日志, 缓存), 然后重新运行 preflight")},
    "pf-rpm-test": {"en": ("rpm -U --test: {todo} packages would install cleanly", ""),
                    "zh_CN": ("rpm -U --test: {todo} 个软件包可以正常安装", "")},
    "pf-rpm-test-none": {"en": ("rpm -U --test: all bundle packages already installed", ""),
                         "zh_CN": ("rpm -U --test: 安装包中所有软件包均已安装", "")},
    "pf-rpm-test-bad": {"en": ("rpm -U --test reports problems:", "resolve each line above (remove or update the named package), or ask the build team for a bundle for this host"),
                        "zh_CN": ("rpm -U --test 报告问题:", "请逐行处理上述问题 (删除或更新所列软件包), 或联系构建团队获取适合本机的安装包")},
    "pf-summary-ok": {"en": ("preflight passed: this host is ready for install", ""),
                      "zh_CN": ("预检通过: 本机可以执行 install", "")},
    "pf-summary-warn": {"en": ("preflight passed with {count} warning(s): read them before install", ""),
                        "zh_CN": ("预检通过, 但有 {count} 个警告: 安装前请阅读", "")},
    "pf-summary-bad": {"en": ("preflight found {count} problem(s); fix them, then run preflight again", ""),
                       "zh_CN": ("预检发现 {count} 个问题; 请修复后重新运行 preflight", "")},
    "pf-unchanged": {"en": ("preflight changed nothing on this host", ""),
                     "zh_CN": ("预检未对本机做任何更改", "")},
    "pf-no-site": {"en": ("no site file given: node, interface, VIP, peer and clock checks skipped", "run: preflight --site site.toml"),
                   "zh_CN": ("未指定站点文件: 已跳过节点, 网卡, VIP, 对端和时钟检查", "请运行: preflight --site site.toml")},
    "pf-node": {"en": ("this host is node {name} ({address}); peer {peer_name} ({peer})", ""),
                "zh_CN": ("本机是节点 {name} ({address}); 对端 {peer_name} ({peer})", "")},
    "pf-iface": {"en": ("interface {interface} holds this node's address {address}/{prefix}", ""),
                 "zh_CN": ("网卡 {interface} 持有本节点地址 {address}/{prefix}", "")},
    "pf-iface-other": {"en": ("interface {interface} (cluster.interface) does not hold {address}; it is on {actual}", "set cluster.interface = \"{actual}\" in the site file, or remove the key"),
                       "zh_CN": ("网卡 {interface} (cluster.interface) 不持有 {address}; 该地址在 {actual} 上", "请在站点文件中设置 cluster.interface = \"{actual}\", 或删除该项")},
    "pf-subnet": {"en": ("VIP {vip} is in this node's subnet {network}", ""),
                  "zh_CN": ("VIP {vip} 位于本节点所在子网 {network}", "")},
    "pf-subnet-bad": {"en": ("VIP {vip} is outside this node's subnet {network} on {interface}", "choose cluster.vip inside {network}, or fix the address prefix on {interface}"),
                      "zh_CN": ("VIP {vip} 不在本节点子网 {network} ({interface}) 内", "请把 cluster.vip 设在 {network} 内, 或修正 {interface} 上的地址前缀")},
    "pf-subnet-prefix": {"en": ("VIP prefix /{vip_prefix} differs from the interface's /{prefix}", "use the interface's prefix in cluster.vip (\"{vip}/{prefix}\")"),
                         "zh_CN": ("VIP 前缀 /{vip_prefix} 与网卡前缀 /{prefix} 不同", "请在 cluster.vip 中使用网卡的前缀 (\"{vip}/{prefix}\")")},
    "pf-vip-free": {"en": ("VIP {vip}: no answer to ARP on {interface} (free)", ""),
                    "zh_CN": ("VIP {vip}: {interface} 上无 ARP 应答 (空闲)", "")},
    "pf-vip-ours": {"en": ("VIP {vip}: {where} (installed before)", ""),
                    "zh_CN": ("VIP {vip}: {where} (此前已安装)", "")},
    "pf-peer": {"en": ("peer {name} ({address}) answers {how} on {interface}", ""),
                "zh_CN": ("对端 {name} ({address}) 在 {interface} 上应答 {how}", "")},
    "pf-peer-bad": {"en": ("peer {name} ({address}) does not answer ARP or ping on {interface}", "check that {name} is powered on and on the same network/VLAN as this node (cable, switch port)"),
                    "zh_CN": ("对端 {name} ({address}) 在 {interface} 上对 ARP 和 ping 均无应答", "请确认 {name} 已开机, 并与本节点位于同一网络/VLAN (网线, 交换机端口)")},
    "pf-port-free": {"en": ("port {port}/tcp ({what}) is free", ""),
                     "zh_CN": ("端口 {port}/tcp ({what}) 空闲", "")},
    "pf-port-expected": {"en": ("port {port}/tcp ({what}) is held by {procs} (expected)", ""),
                         "zh_CN": ("端口 {port}/tcp ({what}) 由 {procs} 占用 (符合预期)", "")},
    "pf-port-other": {"en": ("port {port}/tcp ({what}) is held by {procs}", "stop that program or move it to another port; {what} needs {port}/tcp"),
                      "zh_CN": ("端口 {port}/tcp ({what}) 被 {procs} 占用", "请停止该程序或改用其他端口; {what} 需要 {port}/tcp")},
    "pf-app-down": {"en": ("nothing listens on the app port {port}/tcp yet", "start the application before configure: keepalived gives the VIP only to a node whose app answers"),
                    "zh_CN": ("应用端口 {port}/tcp 上尚无程序监听", "请在 configure 之前启动应用: keepalived 只把 VIP 交给应用正常的节点")},
    "pf-db-space": {"en": ("free space for the database under {path}: {free} MiB (need {need} MiB)", "free space under {path}, then run preflight again"),
                    "zh_CN": ("{path} 下数据库可用空间: {free} MiB (需要 {need} MiB)", "请清理 {path} 下的空间, 然后重新运行 preflight")},
    "pf-selinux-none": {"en": ("SELinux: not present on this host", ""),
                        "zh_CN": ("SELinux: 本机未启用", "")},
    "pf-selinux": {"en": ("SELinux: {mode}{extra}", ""), "zh_CN": ("SELinux: {mode}{extra}", "")},
    "pf-selinux-bool": {"en": ("SELinux {mode}: boolean {name} is off; keepalived's app check (connect to port {port}) may be denied", "run: setsebool -P {name} on"),
                        "zh_CN": ("SELinux {mode}: 布尔值 {name} 已关闭; keepalived 的应用检查 (连接端口 {port}) 可能被拒绝", "请执行: setsebool -P {name} on")},
    "pf-selinux-port": {"en": ("SELinux {mode}: port {port}/tcp is not labelled mysqld_port_t; the database cannot listen on it", "run: semanage port -a -t mysqld_port_t -p tcp {port}"),
                        "zh_CN": ("SELinux {mode}: 端口 {port}/tcp 未标记为 mysqld_port_t; 数据库无法监听该端口", "请执行: semanage port -a -t mysqld_port_t -p tcp {port}")},
    "pf-selinux-noseman": {"en": ("SELinux {mode}: cannot check that port {port}/tcp is labelled mysqld_port_t (no semanage)", "install policycoreutils-python(-utils) or check by hand: semanage port -l | grep mysqld"),
                           "zh_CN": ("SELinux {mode}: 无法检查端口 {port}/tcp 是否标记为 mysqld_port_t (没有 semanage)", "请安装 policycoreutils-python(-utils) 或手工检查: semanage port -l | grep mysqld")},
    "pf-selinux-label": {"en": ("SELinux {mode}: keepalived's scripts are labelled {label}, not {want}; keepalived may be denied running them", "run: semanage fcontext -a -t {want} '/etc/keepalived/ha-bundle(/.*)?' && restorecon -Rv /etc/keepalived/ha-bundle"),
                         "zh_CN": ("SELinux {mode}: keepalived 脚本的标签是 {label}, 不是 {want}; keepalived 可能无法执行它们", "请执行: semanage fcontext -a -t {want} '/etc/keepalived/ha-bundle(/.*)?' && restorecon -Rv /etc/keepalived/ha-bundle")},
    "pf-skew": {"en": ("clock difference with {name}: {skew} s ({how})", ""),
                "zh_CN": ("与 {name} 的时钟差: {skew} 秒 ({how})", "")},
    "pf-skew-bad": {"en": ("clock difference with {name}: {skew} s ({how})", "set the right time on the wrong node (chronyc makestep, or date -s), and keep chronyd running on both nodes"),
                    "zh_CN": ("与 {name} 的时钟差: {skew} 秒 ({how})", "请在时间错误的节点上校正时间 (chronyc makestep 或 date -s), 并在两个节点上保持 chronyd 运行")},
    "pf-skew-unknown": {"en": ("cannot measure the clock difference with {name}: {detail}", "compare 'date -u' on both nodes by hand; they should agree within 2 s"),
                        "zh_CN": ("无法测量与 {name} 的时钟差: {detail}", "请手工比较两节点的 'date -u'; 相差应在 2 秒内")},
    "pf-conflict": {"en": ("{have} is installed, but the bundle brings {want}: they cannot be installed together", "if the installed database holds no data you need, remove it (rpm -e {have}); otherwise ask the build team for a bundle with {have}"),
                    "zh_CN": ("本机已安装 {have}, 但安装包带有 {want}: 两者不能同时安装", "如已安装的数据库没有需要保留的数据, 请删除它 (rpm -e {have}); 否则请联系构建团队获取使用 {have} 的安装包")},
    "pf-conflict-libs": {"en": ("mariadb-libs is installed; the bundle's mysql-community-libs replaces it{compat}", "install mysql-community-libs-compat too (postfix and other packages link to libmysqlclient.so.18); ask the build team to add it to the bundle"),
                         "zh_CN": ("本机已安装 mariadb-libs; 安装包中的 mysql-community-libs 将取代它{compat}", "请同时安装 mysql-community-libs-compat (postfix 等依赖 libmysqlclient.so.18); 请联系构建团队把它加入安装包")},
    "pf-conflict-none": {"en": ("no conflicting database packages installed ({flavour} bundle)", ""),
                         "zh_CN": ("未安装冲突的数据库软件包 ({flavour} 安装包)", "")},
    "pf-data-none": {"en": ("no existing application data in {datadir}", ""),
                     "zh_CN": ("{datadir} 中没有现有的应用数据", "")},
    "pf-data": {"en": ("existing database data in {datadir}: {schemas} ({size} MiB); it is kept: configure compares it with the peer and never overwrites it without --seed-from", "make a backup first (mysqldump); see docs/database.md 'Initial data'"),
                "zh_CN": ("{datadir} 中已有数据库数据: {schemas} ({size} MiB); 将被保留: configure 会与对端比较, 没有 --seed-from 绝不覆盖", "请先备份 (mysqldump); 参见 docs/database.md '初始数据'")},
})


def add_arguments(parser):
    parser.add_argument("--root", default="/", help="check this rpm root instead of / (tests, chroots)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    site_mod.add_arguments(parser)


def _err(name, exc, status=FAIL, side="here"):
    return checks.from_error(name, exc, side=side, status=status)


# --- host and bundle -------------------------------------------------------------------------

def check_root(ctx):
    if os.geteuid() == 0:
        return result("root", PASS, messages.text("pf-root"))
    return result("root", FAIL, messages.text("pf-not-root", uid=os.geteuid()), messages.hint("pf-not-root"))


def check_python(ctx):
    version = "{}.{}.{}".format(*sys.version_info[:3])
    ok = sys.version_info >= (3, 6)
    return result("python", PASS if ok else FAIL, messages.text("pf-python", version=version),
                  "" if ok else messages.hint("pf-python"))


def check_target(ctx):
    if ctx["lock"] is None:
        return _err("os-arch", ctx["lock_error"])
    try:
        desc = target.check(ctx["lock"], ctx["root"])
    except OnsiteError as exc:
        return _err("os-arch", exc)
    return result("os-arch", PASS, messages.text("install-target-ok", desc=desc,
                                                 want=target.describe_want(ctx["lock"]["target"])))


def check_rpm(ctx):
    if shutil.which("rpm") is not None:
        return result("rpm", PASS, messages.text("pf-rpm"))
    return result("rpm", FAIL, messages.text("rpm-missing"), messages.hint("pf-rpm"))


def check_payload(ctx):
    if ctx["lock"] is None:
        return None
    pkgs = payload.locked_packages(ctx["lock"])
    missing = [p["filename"] for p in pkgs if not os.path.isfile(os.path.join(ctx["dir"], p["filename"]))]
    if missing:
        return result("bundle", FAIL, messages.text("payload-rpm-missing", count=len(missing)),
                      messages.hint("payload-rpm-missing", count=len(missing)))
    return result("bundle", PASS, messages.text("pf-payload", count=len(pkgs)))


def _free_mib(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    stat = os.statvfs(path)
    return path, stat.f_bavail * stat.f_frsize // (1 << 20)


def check_space(ctx):
    if ctx["lock"] is None:
        return None
    pkgs = payload.locked_packages(ctx["lock"])
    # installed size is unknown without reading headers; three times the RPM size is generous
    need = 3 * sum(int(p.get("size") or 0) for p in pkgs) // (1 << 20) + 64
    path, free = _free_mib(os.path.join(ctx["root"], "usr"))
    ok = free >= need
    return result("disk-packages", PASS if ok else FAIL, messages.text("pf-space", path=path, free=free, need=need),
                  "" if ok else messages.hint("pf-space", path=path))


def check_rpm_test(ctx):
    if ctx["lock"] is None or shutil.which("rpm") is None:
        return None
    try:
        pkgs = payload.locked_packages(ctx["lock"])
        todo = rpmdb.needed(pkgs, ctx["installed"]())
        if not todo:
            return result("rpm-test", PASS, messages.text("pf-rpm-test-none"))
        files = [os.path.join(ctx["dir"], p["filename"]) for p in todo]
        code, output = rpmdb.run(["-U", "--test"] + files, ctx["root"])
    except OnsiteError as exc:
        return _err("rpm-test", exc)
    if code == 0:
        return result("rpm-test", PASS, messages.text("pf-rpm-test", todo=len(todo)))
    lines = [messages.text("pf-rpm-test-bad")] + ["  - " + line for line in rpmdb.explain(output)]
    return result("rpm-test", FAIL, "\n".join(lines), messages.hint("pf-rpm-test-bad"))


def bundle_flavour(lock):
    names = set(p["name"] for p in payload.locked_packages(lock or {}))
    if any(n.startswith("mysql-community-server") for n in names):
        return "mysql-community", names
    if any(n.startswith("mariadb-server") or n == "mariadb" for n in names):
        return "mariadb", names
    return None, names


def check_conflicts(ctx):
    """mariadb vs mysql-community: the old runbook's el7 hosts come with mariadb-libs."""
    flavour, names = bundle_flavour(ctx["lock"])
    if flavour is None or shutil.which("rpm") is None:
        return None
    try:
        have = set(name for name, _arch in ctx["installed"]())
    except OnsiteError as exc:
        return _err("packages", exc)
    if flavour == "mysql-community":
        for other in ("mariadb-server", "mariadb-galera-server", "MariaDB-server"):
            if other in have:
                return result("packages", FAIL, messages.text("pf-conflict", have=other, want="mysql-community-server"),
                              messages.hint("pf-conflict", have=other))
        if "mariadb-libs" in have:
            compat = "mysql-community-libs-compat" in names
            return result("packages", PASS if compat else WARN, messages.text(
                "pf-conflict-libs", compat=" (with mysql-community-libs-compat)" if compat else ""),
                "" if compat else messages.hint("pf-conflict-libs"))
    else:
        for other in ("mysql-community-server", "mysql-server", "mysql-community-libs"):
            if other in have:
                return result("packages", FAIL, messages.text("pf-conflict", have=other, want="mariadb-server"),
                              messages.hint("pf-conflict", have=other))
    return result("packages", PASS, messages.text("pf-conflict-none", flavour=flavour))


def check_ports(ctx):
    site = ctx["site"]
    db_port = site.database.port if site else 3306
    app_port = site.app.port if site else 8081
    out = []
    for port, what, expected in ((db_port, "database", DB_DAEMONS),
                                 (app_port, "application", (site.app.process,) if site and site.app.process else None)):
        procs = ports.listeners(port)
        names = ", ".join("{} (pid {})".format(c, p) if p else c for p, c in procs)
        name = "port-{}".format(port)
        if not procs:
            if what == "application":
                out.append(result(name, WARN, messages.text("pf-app-down", port=port), messages.hint("pf-app-down")))
            else:
                out.append(result(name, PASS, messages.text("pf-port-free", port=port, what=what)))
        elif expected is None or all(c in expected for _p, c in procs):
            out.append(result(name, PASS, messages.text("pf-port-expected", port=port, what=what, procs=names)))
        else:
            out.append(result(name, FAIL, messages.text("pf-port-other", port=port, what=what, procs=names),
                              messages.hint("pf-port-other", port=port, what=what)))
    return out


def _user_schemas(datadir):
    try:
        entries = sorted(os.listdir(datadir))
    except OSError:
        return []
    return [e for e in entries if os.path.isdir(os.path.join(datadir, e)) and e not in SYSTEM_SCHEMAS
            and not e.startswith("#")]


def _size_mib(path):
    total = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                pass
    return total // (1 << 20)


def check_db_space(ctx):
    datadir = ctx["datadir"]
    existing = sum(_size_mib(os.path.join(datadir, s)) for s in _user_schemas(datadir))
    need = DB_SPACE_MIB + existing          # a backup copy before any seeding
    path, free = _free_mib(datadir)
    ok = free >= need
    return result("disk-database", PASS if ok else FAIL, messages.text("pf-db-space", path=path, free=free, need=need),
                  "" if ok else messages.hint("pf-db-space", path=path))


def check_existing_data(ctx):
    datadir = ctx["datadir"]
    schemas = _user_schemas(datadir)
    if not schemas:
        return result("existing-data", PASS, messages.text("pf-data-none", datadir=datadir))
    size = sum(_size_mib(os.path.join(datadir, s)) for s in schemas)
    return result("existing-data", WARN, messages.text("pf-data", datadir=datadir, schemas=", ".join(schemas),
                                                       size=size), messages.hint("pf-data"))


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


SCRIPT_TYPE = "keepalived_unconfined_script_exec_t"


def _script_label(directory):
    """SELinux type of our keepalived check script (None: not there or no label)."""
    try:
        raw = os.getxattr(os.path.join(directory, "check_app"), "security.selinux")
    except (OSError, AttributeError):
        return None
    parts = raw.decode("ascii", "replace").rstrip("\0").split(":")
    return parts[2] if len(parts) > 2 else None


def check_selinux(ctx):
    fs = ctx["selinuxfs"]
    enforce = _read(os.path.join(fs, "enforce"))
    if enforce is None:
        return [result("selinux", PASS, messages.text("pf-selinux-none"))]
    mode = "enforcing" if enforce == "1" else "permissive"
    out = []
    site = ctx["site"]
    app_port = site.app.port if site else 8081
    db_port = site.database.port if site else 3306
    status = FAIL if mode == "enforcing" else WARN
    boolean = _read(os.path.join(fs, "booleans", "keepalived_connect_any"))
    if boolean is not None and boolean.split()[0] == "0":
        out.append(result("selinux", status, messages.text("pf-selinux-bool", mode=mode, name="keepalived_connect_any",
                                                           port=app_port),
                          messages.hint("pf-selinux-bool", name="keepalived_connect_any")))
    if db_port != 3306:
        semanage = shutil.which("semanage")
        if semanage is None:
            out.append(result("selinux", WARN, messages.text("pf-selinux-noseman", mode=mode, port=db_port),
                              messages.hint("pf-selinux-noseman")))
        else:
            listing = subprocess.run([semanage, "port", "-l"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     universal_newlines=True).stdout
            labelled = any(line.startswith("mysqld_port_t") and str(db_port) in re.split(r"[\s,]+", line)
                           for line in listing.splitlines())
            if not labelled:
                out.append(result("selinux", status, messages.text("pf-selinux-port", mode=mode, port=db_port),
                                  messages.hint("pf-selinux-port", port=db_port)))
    label = _script_label(ctx.get("script_dir", "/etc/keepalived/ha-bundle"))
    if mode == "enforcing" and label not in (None, SCRIPT_TYPE):
        # keepalived runs check/notify scripts in keepalived_unconfined_script_t only when they
        # carry this type; under /etc/keepalived they get keepalived_etc_t (unverified on a real
        # RHEL host here, hence a warning and not a failure)
        out.append(result("selinux", WARN, messages.text("pf-selinux-label", mode=mode, label=label, want=SCRIPT_TYPE),
                          messages.hint("pf-selinux-label", want=SCRIPT_TYPE)))
    if not out:
        extra = "" if boolean is None else ", keepalived_connect_any on"
        out.append(result("selinux", PASS, messages.text("pf-selinux", mode=mode, extra=extra)))
    return out


# --- the site: which node, interface, VIP, peer, clocks -------------------------------------

def check_site(ctx):
    if ctx["site"] is None:
        return result("site", WARN, messages.text("pf-no-site"), messages.hint("pf-no-site"))
    if ctx["local"] is None:
        return _err("node", ctx["locate_error"])
    local = ctx["local"]
    out = [result("node", PASS, messages.text("pf-node", name=local.me.name, address=local.me.address,
                                              peer_name=local.peer.name, peer=local.peer.address))]
    mine = [a for a in ctx["addresses"] if a[1] == local.me.address]
    iface, _addr, prefix = mine[0]
    if iface != local.interface:
        out.append(result("interface", FAIL, messages.text("pf-iface-other", interface=local.interface,
                                                           address=local.me.address, actual=iface),
                          messages.hint("pf-iface-other", actual=iface)))
    else:
        out.append(result("interface", PASS, messages.text("pf-iface", interface=iface, address=local.me.address,
                                                           prefix=prefix)))
    site = ctx["site"]
    network = ipaddress.IPv4Interface("{}/{}".format(local.me.address, prefix)).network
    vip = site.cluster.vip
    if ipaddress.IPv4Address(vip) not in network:
        out.append(result("vip-subnet", FAIL, messages.text("pf-subnet-bad", vip=vip, network=network, interface=iface),
                          messages.hint("pf-subnet-bad", network=network, interface=iface)))
    elif site.cluster.prefix != prefix:
        out.append(result("vip-subnet", WARN, messages.text("pf-subnet-prefix", vip_prefix=site.cluster.prefix,
                                                            prefix=prefix),
                          messages.hint("pf-subnet-prefix", vip=vip, prefix=prefix)))
    else:
        out.append(result("vip-subnet", PASS, messages.text("pf-subnet", vip=vip, network=network)))
    return out


def check_vip_free(ctx):
    if ctx["local"] is None:
        return None
    from onsite.failover import keepalived_step as step_keepalived
    site, local = ctx["site"], ctx["local"]
    try:
        where = step_keepalived.check_vip_free(site, local)
    except OnsiteError as exc:
        return _err("vip-free", exc)
    if where == "free":
        return result("vip-free", PASS, messages.text("pf-vip-free", vip=site.cluster.vip, interface=local.interface))
    return result("vip-free", PASS, messages.text("pf-vip-ours", vip=site.cluster.vip, where=where))


def check_peer(ctx):
    local = ctx["local"]
    if local is None:
        return None
    try:
        macs = arpcheck.who_has(local.interface, local.peer.address)
    except OnsiteError:
        macs = []
    how = "ARP ({})".format(", ".join(macs)) if macs else None
    if how is None and shutil.which("ping"):
        proc = subprocess.run(["ping", "-c", "1", "-W", "2", local.peer.address], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        how = "ping" if proc.returncode == 0 else None
    if how is None:
        return result("peer", FAIL, messages.text("pf-peer-bad", name=local.peer.name, address=local.peer.address,
                                                  interface=local.interface),
                      messages.hint("pf-peer-bad", name=local.peer.name), "peer")
    return result("peer", PASS, messages.text("pf-peer", name=local.peer.name, address=local.peer.address,
                                              how=how, interface=local.interface))


def measure_skew(local, app_port):
    """(seconds peer minus here, how) or (None, why). clockdiff (ICMP timestamps, iputils) is
    millisecond-exact; the HTTP Date header of the peer's app is the fallback (1 s steps)."""
    why = []
    path = shutil.which("clockdiff")
    if path:
        proc = subprocess.run([path, local.peer.address], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=20)
        fields = proc.stdout.split()
        # last line: "<epoch> <delta1 ms> <delta2 ms>"; delta = peer - here
        if proc.returncode == 0 and len(fields) >= 3 and all(re.match(r"^-?\d+$", f) for f in fields[-3:]):
            return int(fields[-2]) / 1000.0, "clockdiff"
        why.append("clockdiff: " + (proc.stdout.strip().splitlines() or ["exit %d" % proc.returncode])[-1])
    else:
        why.append("no clockdiff")
    try:
        from email.utils import parsedate_to_datetime
        from urllib import request as urlrequest
        opener = urlrequest.build_opener(urlrequest.ProxyHandler({}))
        before = time.time()
        resp = opener.open("http://{}:{}/".format(local.peer.address, app_port), timeout=3)
        after = time.time()
        date = resp.headers.get("Date")
        resp.close()
        if date:
            peer = parsedate_to_datetime(date).timestamp()
            return peer - (before + after) / 2.0, "HTTP Date of the peer's app"
        why.append("the peer's app sends no Date header")
    except Exception as exc:
        why.append("HTTP {}:{}: {}".format(local.peer.address, app_port, getattr(exc, "reason", None) or exc))
    return None, "; ".join(why)


def check_time(ctx):
    local = ctx["local"]
    if local is None:
        return None
    skew, how = measure_skew(local, ctx["site"].app.port)
    if skew is None:
        return result("clock", WARN, messages.text("pf-skew-unknown", name=local.peer.name, detail=how),
                      messages.hint("pf-skew-unknown"), "both")
    text_skew = "%+.1f" % skew
    if abs(skew) > SKEW_FAIL:
        return result("clock", FAIL, messages.text("pf-skew-bad", name=local.peer.name, skew=text_skew, how=how),
                      messages.hint("pf-skew-bad"), "both")
    if abs(skew) > SKEW_WARN:
        return result("clock", WARN, messages.text("pf-skew-bad", name=local.peer.name, skew=text_skew, how=how),
                      messages.hint("pf-skew-bad"), "both")
    return result("clock", PASS, messages.text("pf-skew", name=local.peer.name, skew=text_skew, how=how))


CHECKS = [check_root, check_python, check_target, check_rpm, check_payload, check_space, check_rpm_test,
          check_conflicts, check_site, check_vip_free, check_peer, check_time, check_ports,
          check_db_space, check_selinux, check_existing_data]


def _site_given(args):
    return any(getattr(args, k, None) for k in ("site", "vip", "node"))


def context(args):
    """Everything the checks read, gathered once. A bad site file raises here (exit 2, every
    problem named by key) before any check runs."""
    directory = payload.payload_dir()
    ctx = {"root": os.path.abspath(getattr(args, "root", "/") or "/"), "dir": directory, "lock": None,
           "lock_error": None, "site": None, "local": None, "locate_error": None, "addresses": [],
           "datadir": db_paths.datadir(), "selinuxfs": "/sys/fs/selinux"}
    try:
        ctx["lock"] = payload.load_lock(directory)
    except OnsiteError as exc:
        ctx["lock_error"] = exc
    cache = {}

    def installed():
        if "rpm" not in cache:
            cache["rpm"] = rpmdb.installed(ctx["root"])
        return cache["rpm"]
    ctx["installed"] = installed
    if _site_given(args):
        ctx["site"] = site_mod.from_args(args)
    elif ctx["root"] == "/":        # a re-run after configure: the site it recorded
        ctx["site"] = site_mod.from_state()
    if ctx["site"] is not None:
        ctx["addresses"] = site_mod.host_addresses()
        try:
            ctx["local"] = site_mod.locate(ctx["site"], ctx["addresses"])
        except OnsiteError as exc:
            ctx["locate_error"] = exc
    return ctx


def run_checks(ctx):
    results = []
    for check in CHECKS:
        found = check(ctx)
        if found is None:
            continue
        results.extend(found if isinstance(found, list) else [found])
    return results


def run(args):
    ctx = context(args)
    results = run_checks(ctx)
    bad = checks.failed(results)
    warnings = [r for r in results if r.status == WARN]
    if getattr(args, "json", False):
        extra = {"command": "preflight"}
        if ctx["local"] is not None:
            extra.update(node=ctx["local"].me.name, peer=ctx["local"].peer.name)
        print(checks.render_json(results, **extra))
        return 1 if bad else 0
    print(checks.render_table(results))
    if bad:
        print(messages.text("pf-summary-bad", count=len(bad)))
    elif warnings:
        print(messages.text("pf-summary-warn", count=len(warnings)))
    else:
        print(messages.text("pf-summary-ok"))
    print(messages.text("pf-unchanged"))
    return 1 if bad else 0

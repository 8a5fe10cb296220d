"""The keepalived step of configure: check (changes nothing), then apply.

check: keepalived is installed; the VIP is free (no ARP answer, or only from our peer, which
holds it already); the rendered config passes ``keepalived -l -t -f`` in a scratch directory.
apply: writes the scripts and keepalived.conf only where they differ (backups of replaced
files), enables the service and reloads it (or starts it when stopped). A second run with the
same site changes nothing and does not touch the running daemon.
"""

import os
import shutil
import subprocess
import tempfile

from onsite.host import arp as arpcheck
from onsite.core import fileops
from onsite.failover import keepalived
from onsite.core import messages
from onsite.host import services
from onsite.site import sitefile as site_mod
from onsite.core.errors import OnsiteError
from onsite.host.services import which

SERVICE = "keepalived"

messages.register({
    "keepalived-missing": {
        "en": ("keepalived is not installed (no keepalived command, no /etc/keepalived)",
               "run the install step first: ha-installer -- install"),
        "zh_CN": ("未安装 keepalived (找不到 keepalived 命令或 /etc/keepalived)",
                  "请先运行安装步骤: ha-installer -- install"),
    },
    "keepalived-config-invalid": {
        "en": ("keepalived rejects the generated configuration; nothing was changed",
               "send this output to the build team (it is a bug in ha-bundle or an unexpected keepalived version)"),
        "zh_CN": ("keepalived 拒绝了生成的配置; 未做任何更改",
                  "请把以上输出发给构建团队 (ha-bundle 的缺陷或 keepalived 版本不符)"),
    },
    "vip-in-use": {
        "en": ("the VIP {vip} already answers ARP from {macs}, which is not the peer {peer}; nothing was changed",
               "choose a free address for cluster.vip, or switch off the device that uses {vip}"),
        "zh_CN": ("VIP {vip} 已被 {macs} 应答 ARP, 不是对端 {peer}; 未做任何更改",
                  "请为 cluster.vip 选择一个空闲地址, 或关闭正在使用 {vip} 的设备"),
    },
})


def validate_text(conf_text, script_files):
    """Run keepalived -l -t -f on conf_text in a scratch dir; OnsiteError when it complains.

    keepalived 2.0.20 exits 0 on unknown keywords and prints them only with -l (checked with the
    2.0.20 binary, ../shared/keepalived-2.0.20/README.md), so any 'Unknown keyword' line fails
    too. Returns the keepalived output."""
    base = keepalived.CONF_PATH.rsplit("/", 1)[0]
    scratch = tempfile.mkdtemp(prefix=".ha-bundle-check-", dir=base if os.path.isdir(base) else None)
    try:
        os.chmod(scratch, 0o700)
        for name, (text, mode) in script_files.items():
            path = os.path.join(scratch, name)
            with open(path, "w") as handle:
                handle.write(text)
            os.chmod(path, mode)
        conf = os.path.join(scratch, "keepalived.conf")
        with open(conf, "w") as handle:
            handle.write(conf_text.replace(keepalived.SCRIPT_DIR + "/", scratch + "/"))
        os.chmod(conf, 0o600)
        proc = subprocess.run(["keepalived", "-l", "-t", "-f", conf], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bad = [line for line in proc.stdout.splitlines() if "Unknown keyword" in line]
    if proc.returncode != 0 or bad:
        context = ["keepalived -t exit {}".format(proc.returncode)] + (bad or proc.stdout.splitlines()[-15:])
        raise OnsiteError("keepalived-config-invalid", context=context, exit_code=3)
    return proc.stdout


def check_vip_free(site, local):
    vip = site.cluster.vip
    if vip in [a[1] for a in site_mod.host_addresses()]:
        return "held by this node"
    macs = arpcheck.who_has(local.interface, vip)
    if not macs:
        return "free"
    peer_macs = arpcheck.who_has(local.interface, local.peer.address)
    if set(macs) <= set(peer_macs):
        return "held by the peer " + local.peer.name
    raise OnsiteError("vip-in-use", {"vip": vip, "macs": ", ".join(macs), "peer": local.peer.address},
                      exit_code=2)


def check(site, local):
    if not which("keepalived"):
        raise OnsiteError("keepalived-missing", exit_code=2)
    check_vip_free(site, local)
    files = keepalived.render_all(keepalived.facts_from_site(site, local))
    conf_text = files.pop("keepalived.conf")[0]
    validate_text(conf_text, files)


def apply(site, local):
    files = keepalived.render_all(keepalived.facts_from_site(site, local))
    changes = []
    services.remember(SERVICE)
    if fileops.ensure_dir(keepalived.SCRIPT_DIR, 0o700):
        changes.append("created " + keepalived.SCRIPT_DIR)
    if fileops.ensure_dir(os.path.join(keepalived.SCRIPT_DIR, keepalived.NOTIFY_HOOK_DIR), 0o700):
        changes.append("created " + os.path.join(keepalived.SCRIPT_DIR, keepalived.NOTIFY_HOOK_DIR))
    conf_text, conf_mode = files.pop("keepalived.conf")
    for name, (text, mode) in files.items():   # scripts before the config that calls them
        path = os.path.join(keepalived.SCRIPT_DIR, name)
        changed, saved = fileops.install(path, text, mode)
        if changed:
            changes.append("wrote {}{}".format(path, " (backup {})".format(saved) if saved else ""))
    conf_changed, saved = fileops.install(keepalived.CONF_PATH, conf_text, conf_mode)
    if conf_changed:
        changes.append("wrote {}{}".format(keepalived.CONF_PATH, " (backup {})".format(saved) if saved else ""))
    if not services.is_enabled(SERVICE):
        services.enable(SERVICE)
        changes.append("enabled the keepalived service")
    if changes and services.is_active(SERVICE):
        services.reload(SERVICE)
        changes.append("reloaded keepalived")
    elif not services.is_active(SERVICE):
        services.start(SERVICE)
        changes.append("started keepalived")
    return changes

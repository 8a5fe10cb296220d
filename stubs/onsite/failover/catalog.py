"""Messages (en, zh_CN) of onsite.failover: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    # --- failover/firewall.py
    "firewall-none": {
        "en": ("no firewall tool found (firewalld, nft or iptables)",
               "install firewalld or nftables, or open VRRP (protocol 112) and port {db_port}/tcp from {peer} by hand"),
        "zh_CN": ("未找到防火墙工具 (firewalld, nft 或 iptables)",
                  "请安装 firewalld 或 nftables, 或手工放行来自 {peer} 的 VRRP (协议 112) 和 {db_port}/tcp"),
    },
    "firewall-failed": {
        "en": ("the firewall command failed: {command}",
               "read the output above; fix the firewall service, then run configure again"),
        "zh_CN": ("防火墙命令失败: {command}", "请阅读上面的输出, 修复防火墙服务后重新运行 configure"),
    },
    # --- failover/keepalived_step.py
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
}

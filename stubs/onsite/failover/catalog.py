"""Messages (en, zh_CN) of onsite.failover: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    "ka-waiting-preferred": {
        "en": ("keepalived: waiting up to {seconds} s for {peer} (the node that should end active) to take the VIP {vip} first", ""),
        "zh_CN": ("keepalived: 最多等待 {seconds} 秒, 让 {peer} (安装后应为主用的节点) 先接管 VIP {vip}", ""),
    },
    "ka-preferred-absent": {
        "en": ("keepalived: {peer} did not take the VIP within {seconds} s; starting here anyway (this node becomes active)", ""),
        "zh_CN": ("keepalived: {peer} 在 {seconds} 秒内未接管 VIP; 仍在本机启动 (本节点将成为主用)", ""),
    },
    # --- failover/firewall.py
    "firewall-none": {
        "en": ("no firewall tool found (firewalld, nft or iptables)",
               "install firewalld or nftables, or open VRRP (protocol 112) and port {db_port}/tcp from {peer} by hand"),
        "zh_CN": ("未找到防火墙工具 (firewalld, nft 或 iptables)",
                  "请安装 firewalld 或 nftables, 或手工放行来自 {peer} 的 VRRP (协议 112) 和 {db_port}/tcp"),
    },
    "firewall-failed": {
        "en": ("the firewall command failed: {command}",
               "read the output above; fix the firewall service, then run install again"),
        "zh_CN": ("防火墙命令失败: {command}", "请阅读上面的输出, 修复防火墙服务后重新运行 install"),
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
    # --- failover/keepalived_step.py: change lines
    "ka-enabled": {"en": ("enabled the keepalived service", ""), "zh_CN": ("已设置 keepalived 服务开机启动", "")},
    "ka-reloaded": {"en": ("reloaded keepalived", ""), "zh_CN": ("已重新加载 keepalived", "")},
    "ka-started": {"en": ("started keepalived", ""), "zh_CN": ("已启动 keepalived", "")},
    "ka-vip-here": {"en": ("held by this node", ""), "zh_CN": ("由本节点持有", "")},
    "ka-vip-peer": {"en": ("held by the peer {name}", ""), "zh_CN": ("由对端 {name} 持有", "")},
    # --- failover/firewall.py: change lines and missing rules
    "fw-added": {"en": ("firewalld {scope} zone {zone}: added {rule}", ""),
                 "zh_CN": ("firewalld {scope} 区域 {zone}: 已添加 {rule}", "")},
    "fw-opened": {"en": ("firewalld {scope} zone {zone}: opened {port}", ""),
                  "zh_CN": ("firewalld {scope} 区域 {zone}: 已开放 {port}", "")},
    "fw-no-tool": {"en": ("no firewall tool (firewalld, nft or iptables)", ""),
                   "zh_CN": ("没有防火墙工具 (firewalld, nft 或 iptables)", "")},
    "fw-missing-rule": {"en": ("firewalld {scope} zone {zone}: {rule}", ""),
                        "zh_CN": ("firewalld {scope} 区域 {zone}: {rule}", "")},
    "fw-missing-port": {"en": ("firewalld {scope} zone {zone}: port {port}", ""),
                        "zh_CN": ("firewalld {scope} 区域 {zone}: 端口 {port}", "")},
    "fw-nft-not-loaded": {"en": ("nftables: table inet {table} not loaded", ""),
                          "zh_CN": ("nftables: 表 inet {table} 未加载", "")},
    "fw-nft-file": {"en": ("nftables: {path} missing or different", ""),
                    "zh_CN": ("nftables: {path} 不存在或内容不同", "")},
    "fw-ipt-rule": {"en": ("iptables: INPUT {rule}", ""), "zh_CN": ("iptables: INPUT {rule}", "")},
    "fw-nft-loaded": {"en": ("nftables: table inet {table} loaded", ""),
                      "zh_CN": ("nftables: 已加载表 inet {table}", "")},
    "fw-nft-include": {"en": ("nftables: {path} now includes {file} (backup {backup})", ""),
                       "zh_CN": ("nftables: {path} 现已包含 {file} (备份 {backup})", "")},
    "fw-ipt-runtime": {"en": ("iptables: rules are runtime only; save them with your site's tool (e.g. service iptables save)", ""),
                       "zh_CN": ("iptables: 规则仅在运行时有效; 请用现场的工具保存 (例如 service iptables save)", "")},
    "fw-removed": {"en": ("firewalld {scope} zone {zone}: removed {value}", ""),
                   "zh_CN": ("firewalld {scope} 区域 {zone}: 已删除 {value}", "")},
    "fw-nft-deleted": {"en": ("nftables: deleted table inet {table}", ""),
                       "zh_CN": ("nftables: 已删除表 inet {table}", "")},
    "fw-ipt-removed": {"en": ("iptables: removed INPUT {rule}", ""),
                       "zh_CN": ("iptables: 已删除 INPUT {rule}", "")},
}

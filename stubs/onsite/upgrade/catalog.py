"""Messages (en, zh_CN) of onsite.upgrade and onsite.ops.upgrade: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    "upgrade-not-installed": {
        "en": ("this host was never installed by ha-bundle (or its install did not finish)",
               "install it with the full bundle first; an update bundle only upgrades an installed pair"),
        "zh_CN": ("本机从未由 ha-bundle 安装 (或安装未完成)", "请先用完整安装包安装; 更新包只能升级已安装的双机"),
    },
    "upgrade-wrong-base": {
        "en": ("this update applies to hosts installed from lock {wants}; this host runs lock {has} and "
               "{count} package(s) differ",
               "apply first the full bundle or the earlier update whose lock is {wants} (ha-bundle inspect shows "
               "a .run's lock), then this update"),
        "zh_CN": ("此更新包只适用于由锁文件 {wants} 安装的主机; 本机是锁文件 {has}, 有 {count} 个软件包不同",
                  "请先安装锁文件为 {wants} 的完整安装包或较早的更新包 (ha-bundle inspect 可查看), 再用此更新包"),
    },
    "upgrade-db-major": {
        "en": ("refused: {package} {old} -> {new} is a major database upgrade", "a major upgrade is not rolling: "
               "follow docs/upgrade.md 'major database upgrade' (dump, new pair, restore) during a maintenance window"),
        "zh_CN": ("已拒绝: {package} {old} -> {new} 是数据库大版本升级",
                  "大版本升级不能滚动进行: 请在维护窗口按 docs/upgrade.md 的 '数据库大版本升级' 操作 (导出, 新建双机, 导入)"),
    },
    "upgrade-pair-unhealthy": {
        "en": ("the pair is not healthy ({count} check(s) failed); nothing was changed",
               "fix what is listed (verify shows details), then run upgrade again"),
        "zh_CN": ("双机状态不健康 ({count} 项检查失败); 未做任何更改", "请修复列出的问题 (verify 可查看详情), 然后再次运行 upgrade"),
    },
    "upgrade-no-holder": {
        "en": ("no node holds the VIP {vip} (or both do); nothing was changed",
               "run status on both nodes and fix keepalived first"),
        "zh_CN": ("没有节点持有 VIP {vip} (或两个节点都持有); 未做任何更改", "请在两个节点上运行 status, 先修复 keepalived"),
    },
    "upgrade-standby-first": {
        "en": ("{name} holds the VIP: the standby {peer} is upgraded first; nothing was changed here",
               "on {peer} ({address}) run: ./<this file> -- upgrade ; then run it here again"),
        "zh_CN": ("{name} 持有 VIP: 应先升级备用节点 {peer}; 本机未做任何更改",
                  "请在 {peer} ({address}) 上运行: ./<本文件> -- upgrade ; 然后再在本机运行"),
    },
    "upgrade-pause-first": {
        "en": ("this update changes the database server: replication from {name} to {peer} must be paused first",
               "run upgrade on {peer} (the VIP holder) first: it pauses that channel; then run it here again"),
        "zh_CN": ("此更新会升级数据库服务器: 需先暂停从 {name} 到 {peer} 的复制",
                  "请先在 {peer} (持有 VIP 的节点) 上运行 upgrade: 它会暂停该复制通道; 然后再在本机运行"),
    },
    "upgrade-paused": {
        "en": ("{name} no longer replicates from {peer} while the database versions differ (a newer source to an "
               "older replica is unsupported); {name} keeps serving, its changes still reach {peer}", ""),
        "zh_CN": ("数据库版本不同期间, {name} 暂停从 {peer} 复制 (新版本不能作为旧版本的复制源); "
                  "{name} 继续提供服务, 其变更仍会同步到 {peer}", ""),
    },
    "upgrade-next": {
        "en": ("next: on {peer} ({address}) run ./<this file> -- upgrade", ""),
        "zh_CN": ("下一步: 在 {peer} ({address}) 上运行 ./<本文件> -- upgrade", ""),
    },
    "upgrade-standby": {
        "en": ("upgrading {name} (standby) while {peer} serves", ""),
        "zh_CN": ("正在升级 {name} (备用节点), 由 {peer} 提供服务", ""),
    },
    "upgrade-handover": {
        "en": ("{peer} runs the new bundle: handing the VIP from {name} to {peer}, then upgrading {name}", ""),
        "zh_CN": ("{peer} 已运行新版本: 把 VIP 从 {name} 交给 {peer}, 然后升级 {name}", ""),
    },
    "upgrade-packages": {"en": ("packages: {count} to upgrade (rpm -U --test first)", ""),
                         "zh_CN": ("软件包: {count} 个待升级 (先执行 rpm -U --test)", "")},
    "upgrade-configure": {"en": ("configuration: re-rendered by this bundle; services restart only where "
                                 "something changed", ""),
                          "zh_CN": ("配置: 由本安装包重新生成; 仅在有变化时重启服务", "")},
    "upgrade-restarted": {"en": ("restarted {service} (its package was upgraded)", ""),
                          "zh_CN": ("已重启 {service} (其软件包已升级)", "")},
    "upgrade-here-done": {"en": ("{name} is upgraded and healthy", ""), "zh_CN": ("{name} 已升级且运行正常", "")},
    "upgrade-pair-done": {
        "en": ("both {name} and {peer} run this bundle; the pair is healthy", "run verify on both nodes to confirm"),
        "zh_CN": ("{name} 和 {peer} 都已运行此版本; 双机状态正常", "请在两个节点上运行 verify 确认"),
    },
    "upgrade-no-way-back": {
        "en": ("refused: the RPMs of {count} installed package(s) are not kept in {dir}, so a failed upgrade could "
               "not be undone; nothing was changed",
               "copy those RPM files (the full bundle's) into that directory, then run upgrade again"),
        "zh_CN": ("已拒绝: {dir} 中没有保存 {count} 个已安装软件包的 RPM, 升级失败时无法回退; 未做任何更改",
                  "请把这些 RPM 文件 (来自完整安装包) 复制到该目录, 然后再次运行 upgrade"),
    },
    "upgrade-rpm-test": {
        "en": ("rpm -U --test refused the update; see {log}", "the lines above say which package; nothing was installed"),
        "zh_CN": ("rpm -U --test 拒绝了此更新; 详见 {log}", "上面列出了相关软件包; 没有安装任何东西"),
    },
    "upgrade-rpm-failed": {"en": ("rpm -U failed; see {log}", "the node is rolled back; send the log to the build team"),
                           "zh_CN": ("rpm -U 失败; 详见 {log}", "本节点已回退; 请把日志发给构建团队")},
    "upgrade-service-down": {"en": ("{service} is not running after the upgrade", "the node is rolled back"),
                             "zh_CN": ("升级后 {service} 未运行", "本节点已回退")},
    "upgrade-forced-failure": {"en": ("failure forced by HA_UPGRADE_FAIL_AT (a drill of the way back)", ""),
                               "zh_CN": ("由 HA_UPGRADE_FAIL_AT 强制的失败 (回退演练)", "")},
    "upgrade-step-failed": {"en": ("upgrade step '{phase}' failed ({reason}): rolling this node back", ""),
                            "zh_CN": ("升级步骤 '{phase}' 失败 ({reason}): 正在回退本节点", "")},
    "upgrade-rolling-back": {"en": ("putting back the previous packages, configuration and app release", ""),
                             "zh_CN": ("正在恢复之前的软件包, 配置和应用版本", "")},
    "upgrade-restored": {"en": ("restored {path}", ""), "zh_CN": ("已恢复 {path}", "")},
    "upgrade-rollback-failed": {
        "en": ("the way back failed; see {log}", "run upgrade again to finish the way back (keepalived stays stopped "
               "here until then; the peer serves), or run collect and send the archive to the build team"),
        "zh_CN": ("回退失败; 详见 {log}", "请再次运行 upgrade 完成回退 (在此之前本机 keepalived 保持停止; 由对端提供服务), "
                  "或运行 collect 并把归档发给构建团队"),
    },
    "upgrade-rolled-back": {
        "en": ("the upgrade of {name} failed and {name} was rolled back to its previous bundle; {peer} serves",
               "the lines above say what failed; fix it and run upgrade again, or send 'collect' to the build team"),
        "zh_CN": ("{name} 升级失败, 已回退到之前的版本; 由 {peer} 提供服务",
                  "上面说明了失败原因; 修复后再次运行 upgrade, 或把 collect 的结果发给构建团队"),
    },
    "vf-pair-upgrading": {
        "en": ("{peer} runs bundle {theirs}, this node {mine}: a rolling upgrade is half done",
               "finish it: run upgrade (with the newer bundle) on the node that still runs the older one"),
        "zh_CN": ("{peer} 运行版本 {theirs}, 本机运行 {mine}: 滚动升级只完成了一半",
                  "请在仍运行旧版本的节点上用新安装包运行 upgrade 完成升级"),
    },
    "st-installed": {"en": ("installed here: bundle lock {digest}, app {app}", ""),
                     "zh_CN": ("本机已安装: 锁文件 {digest}, 应用 {app}", "")},
    "st-upgrade": {
        "en": ("upgrade to lock {digest}: {status} (step {phase})",
               "run upgrade again with the same update bundle: it resumes or is done"),
        "zh_CN": ("升级到锁文件 {digest}: {status} (步骤 {phase})", "请用同一更新包再次运行 upgrade: 它会继续或已完成"),
    },
    "upgrade-downgrade-refused": {
        "en": ("refused: {count} package(s) here are newer than this bundle's and the update does not list them as "
               "downgrades; nothing was changed",
               "use the newer bundle; an intended downgrade is built with ha-bundle build --update-from --allow-downgrade"),
        "zh_CN": ("已拒绝: 本机有 {count} 个软件包比本安装包的版本新, 而更新包未将其列为降级; 未做任何更改",
                  "请使用较新的安装包; 有意的降级需用 ha-bundle build --update-from --allow-downgrade 构建"),
    },
    "upgrade-db-stays": {
        "en": ("{package} stays at {version}: the database server already started on it, and its data files may "
               "not suit the older build", ""),
        "zh_CN": ("{package} 保持 {version}: 数据库服务器已用该版本启动, 其数据文件可能不再适用于旧版本", ""),
    },
    "payload-rpm-name-unsafe": {
        "en": ("the bundle's lock names {count} RPM file(s) outside rpms/ or with unusual characters; nothing was changed",
               "the file was altered: get the .run again from the build team and check its sha256"),
        "zh_CN": ("安装包的锁文件中有 {count} 个 RPM 文件名不在 rpms/ 下或含有异常字符; 未做任何更改",
                  "文件已被改动: 请向构建团队重新获取 .run 并核对 sha256"),
    },
    "install-is-update": {
        "en": ("this is an update bundle (for hosts installed from lock {wants}), not a full installer",
               "on an installed pair run: ./<this file> -- upgrade ; a new host needs the full bundle"),
        "zh_CN": ("这是更新包 (适用于由锁文件 {wants} 安装的主机), 不是完整安装包",
                  "在已安装的双机上运行: ./<本文件> -- upgrade ; 新主机需要完整安装包"),
    },
}

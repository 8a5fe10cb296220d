"""Messages (en, zh_CN) of onsite.host: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    # --- host/arp.py
    "arping-missing": {
        "en": ("arping is not installed: cannot check that the VIP is free",
               "install iputils (it provides arping), then run again"),
        "zh_CN": ("未安装 arping: 无法检查 VIP 是否空闲", "请安装 iputils (包含 arping), 然后重新运行"),
    },
    # --- host/rpmdb.py
    "rpm-missing": {
        "en": ("the rpm command is missing", "this installer needs an rpm-based host (CentOS/RHEL)"),
        "zh_CN": ("缺少 rpm 命令", "本安装程序需要基于 rpm 的主机 (CentOS/RHEL)"),
    },
    "rpm-query-failed": {
        "en": ("cannot read the rpm database{where}", "run 'rpm{rootopt} -qa' to see the rpm error"),
        "zh_CN": ("无法读取 rpm 数据库{where}", "运行 'rpm{rootopt} -qa' 查看 rpm 错误"),
    },
    "rpm-needs": {"en": ("{pkg} needs {dep}, which neither this host nor the bundle provides", ""),
                  "zh_CN": ("{pkg} 需要 {dep}, 但本机和安装包都不提供", "")},
    "rpm-conflict": {"en": ("{a} cannot be installed together with {b}", ""),
                     "zh_CN": ("{a} 不能与 {b} 同时安装", "")},
    "rpm-file-conflict": {"en": ("{a} and {b} both contain the file {path}", ""),
                          "zh_CN": ("{a} 与 {b} 都包含文件 {path}", "")},
    "rpm-obsoleted": {"en": ("{a} is replaced (obsoleted) by {b}", ""),
                      "zh_CN": ("{a} 已被 {b} 取代 (obsoleted)", "")},
    "rpm-host-lacks": {"en": ("this host lacks {pkg}, which the bundle was built to find installed", ""),
                       "zh_CN": ("本机缺少 {pkg}, 而安装包是按该软件包已安装构建的", "")},
    "rpm-host-has": {"en": ("this host has {pkg}, which the host the bundle was built for does not have", ""),
                     "zh_CN": ("本机装有 {pkg}, 而安装包所针对的主机没有该软件包", "")},
    "rpm-wrong-arch": {"en": ("{a} is for a different architecture", ""),
                       "zh_CN": ("{a} 适用于其他架构", "")},
    # --- host/services.py
    "service-failed": {
        "en": ("'{command}' failed (exit {code})",
               "look at the service's log (journalctl -u {name} or /var/log/messages), fix it, run again"),
        "zh_CN": ("'{command}' 执行失败 (退出码 {code})",
                  "请查看服务日志 (journalctl -u {name} 或 /var/log/messages), 修正后重新运行"),
    },
    # --- host/target.py
    "os-release-missing": {
        "en": ("cannot read {path}: unknown operating system",
               "this bundle is for {want}; run it on such a host"),
        "zh_CN": ("无法读取 {path}: 未知的操作系统", "本安装包适用于 {want}; 请在这样的主机上运行"),
    },
    "wrong-os": {
        "en": ("this host runs {have}, but this bundle is for {want}",
               "use the installer built for {have} (ask the build team), or run this one on a {want} host"),
        "zh_CN": ("本机系统为 {have}, 但本安装包适用于 {want}",
                  "请使用为 {have} 构建的安装包 (联系构建团队), 或在 {want} 主机上运行本安装包"),
    },
    "wrong-arch": {
        "en": ("this host is {have}, but this bundle is for {want}",
               "use the installer built for {have}"),
        "zh_CN": ("本机架构为 {have}, 但本安装包适用于 {want}", "请使用为 {have} 构建的安装包"),
    },
}

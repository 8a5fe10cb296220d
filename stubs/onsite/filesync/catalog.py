"""Messages (en, zh_CN) of onsite.filesync: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    "filesync-no-secret": {
        "en": ("the site file has no secrets.sync_password (the app's files are synced with it)",
               "add sync_password (12+ printable characters, the same on both nodes) to [secrets], or create the site file again with site init"),
        "zh_CN": ("站点文件缺少 secrets.sync_password (同步应用文件需要它)",
                  "请在 [secrets] 中加入 sync_password (至少 12 个可打印字符, 两台节点相同), 或用 site init 重新生成站点文件")},
    "filesync-no-rsync": {"en": ("rsync is not installed here; the app's files cannot be synced",
                                 "install rsync from the OS media (it is in every base OS), then run install again"),
                          "zh_CN": ("本机未安装 rsync; 无法同步应用文件", "请从系统介质安装 rsync, 然后再次运行 install")},
    "fs-started": {"en": ("{name}: started", ""), "zh_CN": ("{name}: 已启动", "")},
    "fs-restarted": {"en": ("{name}: restarted with the new settings", ""), "zh_CN": ("{name}: 已用新设置重启", "")},
}

"""Messages (en, zh_CN) of onsite.site: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    # --- site/sitefile.py
    "site-not-found": {
        "en": ("site file {path} not found", "give the path of site.toml with --site"),
        "zh_CN": ("找不到站点文件 {path}", "请用 --site 指定 site.toml 的路径"),
    },
    "site-syntax": {
        "en": ("{path} is not valid TOML: {detail}", "fix that line; compare with site.example.toml"),
        "zh_CN": ("{path} 不是有效的 TOML: {detail}", "请修正该行; 可参照 site.example.toml"),
    },
    "site-invalid": {
        "en": ("the site settings have {count} problem(s); nothing was changed",
               "fix each line above in {path}, then run the same command again"),
        "zh_CN": ("站点设置有 {count} 处问题; 未做任何更改",
                  "请按上面各行修正 {path}, 然后重新运行同一命令"),
    },
    "site-secrets-readable": {
        "en": ("{path} holds secrets but other users can read it (mode {mode})",
               "run: chmod 600 {path}"),
        "zh_CN": ("{path} 含有密码, 但其他用户可以读取 (权限 {mode})", "请执行: chmod 600 {path}"),
    },
    "site-not-this-host": {
        "en": ("this host has none of the node addresses ({addresses})",
               "run on one of the two nodes, or fix the node addresses in the site file"),
        "zh_CN": ("本机没有任何节点地址 ({addresses})", "请在两个节点之一上运行, 或修正站点文件中的节点地址"),
    },
    "site-both-nodes-here": {
        "en": ("this host has both node addresses ({addresses})",
               "each node address must belong to a different server"),
        "zh_CN": ("本机同时拥有两个节点地址 ({addresses})", "两个节点地址必须分别属于两台服务器"),
    },
    "site-needed": {
        "en": ("no site settings given and none recorded on this host",
               "give the site file: --site site.toml (configure records it for later commands)"),
        "zh_CN": ("未指定站点设置, 本机也没有记录", "请指定站点文件: --site site.toml (configure 会记录以供后续命令使用)"),
    },
    "site-no-interface": {
        "en": ("interface {interface} (cluster.interface) does not exist on this host",
               "set cluster.interface to the interface that holds {address}, or remove it"),
        "zh_CN": ("本机不存在网卡 {interface} (cluster.interface)",
                  "请把 cluster.interface 设为持有 {address} 的网卡, 或删除该项"),
    },
}

"""Messages (en, zh_CN) of onsite.db: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    # --- db (database step)
    "db-not-installed": {
        "en": ("no MySQL or MariaDB server is installed on this node",
               "run the install command first, then configure again"),
        "zh_CN": ("本节点未安装 MySQL 或 MariaDB 服务器", "请先运行 install 命令, 然后重新运行 configure"),
    },
    "db-unsupported": {
        "en": ("database server {server} is not supported (MySQL 5.7+ or MariaDB 5.5+ only)",
               "install a supported server version from this bundle"),
        "zh_CN": ("不支持数据库服务器 {server} (仅支持 MySQL 5.7+ 或 MariaDB 5.5+)",
                  "请安装本安装包中提供的受支持版本"),
    },
    "db-not-running": {
        "en": ("the database server did not start ({detail})",
               "read the server log (journalctl -u {service} or /var/log/mysqld.log), fix it, run configure again"),
        "zh_CN": ("数据库服务器未能启动 ({detail})",
                  "查看服务器日志 (journalctl -u {service} 或 /var/log/mysqld.log), 修复后重新运行 configure"),
    },
    "db-root-login": {
        "en": ("cannot log in to the local database as root",
               "put the current root password in {secrets} as [database] root_password = \"...\" (mode 0600) and run configure again"),
        "zh_CN": ("无法以 root 身份登录本地数据库",
                  "将当前 root 密码写入 {secrets} 的 [database] root_password = \"...\" (权限 0600), 然后重新运行 configure"),
    },
    "db-cnf-not-read": {
        "en": ("the server does not read {path}",
               "add the line '!includedir {directory}' to the server's my.cnf, then run configure again"),
        "zh_CN": ("数据库服务器没有读取 {path}",
                  "在 my.cnf 中加入 '!includedir {directory}' 一行, 然后重新运行 configure"),
    },
    "db-cnf-overridden": {
        "en": ("another option file overrides settings of {path}",
               "remove these settings from the other file (find it with: my_print_defaults mysqld), then run configure again"),
        "zh_CN": ("其他配置文件覆盖了 {path} 中的设置",
                  "请从其他配置文件中删除这些设置 (用 my_print_defaults mysqld 查找), 然后重新运行 configure"),
    },
    "db-dangerous-option": {
        "en": ("the server's option files contain settings that lose or skip replicated data; nothing was changed",
               "remove the lines above (back up the file first); ha-bundle sets safe replication filters itself"),
        "zh_CN": ("数据库配置文件中有会丢失或跳过复制数据的设置; 未做任何修改",
                  "请删除上面列出的行 (先备份文件); ha-bundle 会自行设置安全的复制过滤规则"),
    },
    "db-no-peer-secret": {
        "en": ("no shared replication secret: the site file has no [secrets] {key}",
               "use the site.toml written by 'site init' on node 1 (copy it to this node), or pass --peer-secret"),
        "zh_CN": ("缺少共享的复制密钥: 站点文件中没有 [secrets] {key}",
                  "请使用在节点 1 上由 'site init' 生成的 site.toml (复制到本节点), 或使用 --peer-secret"),
    },
    "db-peer-not-ready": {
        "en": ("peer {peer} ({address}) did not answer within {seconds} s; this node's side is done",
               "run 'configure' on {peer} now; then run 'configure --only database' here again"),
        "zh_CN": ("对端 {peer} ({address}) 在 {seconds} 秒内无响应; 本节点的配置已完成",
                  "请现在在 {peer} 上运行 'configure', 然后在本节点再次运行 'configure --only database'"),
    },
    "db-data-differs": {
        "en": ("both nodes hold application data and it differs; nothing was changed",
               "decide which node's data to keep, then run on the OTHER node: configure --only database --seed-from NODE (its data is backed up first)"),
        "zh_CN": ("两个节点都有应用数据且内容不同; 未做任何修改",
                  "请确定保留哪个节点的数据, 然后在另一个节点上运行: configure --only database --seed-from 节点名 (会先备份其数据)"),
    },
    "db-seed-from-unknown": {
        "en": ("--seed-from {value} is not a node of this site (nodes: {nodes})",
               "pass the name of one node from the site file"),
        "zh_CN": ("--seed-from {value} 不是本站点的节点 (节点: {nodes})", "请填写站点文件中的一个节点名"),
    },
    "db-no-space": {
        "en": ("not enough space in {directory} for the copy and the backup: need about {need} MiB, {free} MiB free; nothing was changed",
               "free space there (or mount a larger disk on it), then run configure again"),
        "zh_CN": ("{directory} 空间不足, 无法存放数据副本和备份: 约需 {need} MiB, 仅剩 {free} MiB; 未做任何修改",
                  "请清理该目录所在磁盘 (或挂载更大的磁盘), 然后重新运行 configure"),
    },
    "db-no-space-dump": {
        "en": ("the copy from {peer} did not fit in {directory} ({free} MiB free); nothing was loaded",
               "free space there (or mount a larger disk on it), then run configure again"),
        "zh_CN": ("来自 {peer} 的数据副本在 {directory} 中放不下 (剩余 {free} MiB); 未导入任何数据",
                  "请清理该目录所在磁盘 (或挂载更大的磁盘), 然后重新运行 configure"),
    },
    "db-sql-failed": {
        "en": ("database command failed on {where}: {detail}",
               "fix the cause shown above and run configure again; nothing after this step was done"),
        "zh_CN": ("在 {where} 上执行数据库命令失败: {detail}",
                  "请修复上面显示的原因后重新运行 configure; 此步骤之后的操作均未执行"),
    },
    "db-replication-broken": {
        "en": ("replication from {peer} is not healthy: {detail}",
               "run 'status' on both nodes; fix the error shown, then run 'configure --only database' again"),
        "zh_CN": ("来自 {peer} 的复制不正常: {detail}",
                  "请在两个节点上运行 'status'; 修复显示的错误后重新运行 'configure --only database'"),
    },
    "db-canary-timeout": {
        "en": ("a test row written here did not reach {peer} within {seconds} s",
               "run 'status' on {peer}: its replica threads must both be running"),
        "zh_CN": ("本节点写入的测试行在 {seconds} 秒内未到达 {peer}",
                  "请在 {peer} 上运行 'status': 其复制线程必须都在运行"),
    },
    # progress lines (text only)
    "db-step": {"en": ("database: {what}", ""), "zh_CN": ("数据库: {what}", "")},
    # --- db/status.py
    "db-st-title": {"en": ("database replication:", ""), "zh_CN": ("数据库复制:", "")},
    "db-st-header": {
        "en": ("node|role|VIP|IO thread|SQL thread|lag (s)|last error", ""),
        "zh_CN": ("节点|角色|VIP|IO 线程|SQL 线程|延迟 (秒)|最近错误", ""),
    },
    "db-st-active": {"en": ("active (writable)", ""), "zh_CN": ("主用 (可写)", "")},
    "db-st-passive": {"en": ("passive (read-only)", ""), "zh_CN": ("备用 (只读)", "")},
    "db-st-unreachable": {"en": ("unreachable", ""), "zh_CN": ("无法连接", "")},
    "db-st-not-configured": {
        "en": ("database: not configured yet (run configure)", ""),
        "zh_CN": ("数据库: 尚未配置 (请运行 configure)", ""),
    },
    "db-st-secrets": {
        "en": ("secrets (shown because of --show-secrets; do not paste them into tickets):", ""),
        "zh_CN": ("密码 (因使用 --show-secrets 而显示; 请勿粘贴到工单中):", ""),
    },
    # --- db/step.py
    "db-flavour-mismatch": {
        "en": ("the site file asks for database.flavour = {wanted}, but this node has {installed}",
               "fix database.flavour in the site file, or install the server this bundle carries"),
        "zh_CN": ("站点文件要求 database.flavour = {wanted}, 但本节点安装的是 {installed}",
                  "请修正站点文件中的 database.flavour, 或安装本安装包提供的数据库服务器"),
    },
    "db-no-includedir": {
        "en": ("the database server's my.cnf includes no directory for our settings",
               "add the line '!includedir /etc/my.cnf.d' to /etc/my.cnf (the RHEL default), then run configure again"),
        "zh_CN": ("数据库的 my.cnf 没有包含任何配置目录",
                  "请在 /etc/my.cnf 中加入 '!includedir /etc/my.cnf.d' (RHEL 默认), 然后重新运行 configure"),
    },
}

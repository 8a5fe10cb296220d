"""Messages (en, zh_CN) of onsite.core: reference -> {lang: (text, hint)}.

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    # --- core/messages.py
    "word-error": {"en": ("error", ""), "zh_CN": ("错误", "")},
    "word-next": {"en": ("next", ""), "zh_CN": ("下一步", "")},
    "not-root": {
        "en": ("this command must run as root", "run it again with sudo or as root"),
        "zh_CN": ("此命令必须以 root 身份运行", "请使用 sudo 或 root 用户重新运行"),
    },
    "internal-error": {
        "en": ("unexpected internal error (a bug in ha-bundle): {detail}; details in {log}",
               "collect a support bundle ({collect}) and send it with {log} to the build team"),
        "zh_CN": ("意外的内部错误 (ha-bundle 的缺陷): {detail}; 详情见 {log}",
                  "请收集支持包 ({collect}), 连同 {log} 一起发送给构建团队"),
    },
    # --- core/lock.py
    "lock-held": {
        "en": ("another ha-installer run holds the lock: pid {pid}, '{command}', since {since}; nothing was changed",
               "wait for it to finish (or end that process), then run this command again; the lock is {path}"),
        "zh_CN": ("另一个 ha-installer 正在运行并持有锁: 进程 {pid}, '{command}', 开始于 {since}; 未做任何更改",
                  "请等待其结束 (或结束该进程) 后重新运行此命令; 锁文件为 {path}"),
    },
    "lock-taken-over": {
        "en": ("note: an earlier run (pid {pid}, '{command}', since {since}) ended without releasing its lock; taking it over", ""),
        "zh_CN": ("注意: 之前的运行 (进程 {pid}, '{command}', 开始于 {since}) 未释放锁就结束了; 现在接管该锁", ""),
    },
    # --- core/checks.py
    "chk-PASS": {"en": ("PASS", ""), "zh_CN": ("通过", "")},
    "chk-WARN": {"en": ("WARN", ""), "zh_CN": ("警告", "")},
    "chk-FAIL": {"en": ("FAIL", ""), "zh_CN": ("失败", "")},
    "chk-fix": {"en": ("fix", ""), "zh_CN": ("处理", "")},
    "chk-header": {"en": ("status|check|result", ""), "zh_CN": ("状态|检查项|结果", "")},
    # --- core/payload.py
    "payload-missing": {
        "en": ("the bundle files are not where expected ({path})",
               "run the installer file itself: sh ./ha-installer-<target>.run -- COMMAND"),
        "zh_CN": ("安装包文件不在预期位置 ({path})",
                  "请直接运行安装文件: sh ./ha-installer-<target>.run -- 命令"),
    },
    # --- change lines (configure, install and uninstall print them; the journal keeps them)
    "ch-wrote": {"en": ("wrote {path}", ""), "zh_CN": ("已写入 {path}", "")},
    "ch-wrote-backup": {"en": ("wrote {path} (backup {backup})", ""),
                        "zh_CN": ("已写入 {path} (备份 {backup})", "")},
    "ch-created": {"en": ("created {path}", ""), "zh_CN": ("已创建 {path}", "")},
    "ch-removed": {"en": ("removed {path}", ""), "zh_CN": ("已删除 {path}", "")},
    "ch-removed-dir": {"en": ("removed directory {path}", ""), "zh_CN": ("已删除目录 {path}", "")},
    "ch-restored": {"en": ("restored {path} from {backup}", ""), "zh_CN": ("已从 {backup} 恢复 {path}", "")},
    "app-lock-bad": {"en": ("the bundle's lock has a bad app entry ({what}); the .run was changed or is damaged",
                            "copy the .run again from the build machine and check its sha256"),
                     "zh_CN": ("安装包锁文件中的应用条目无效 ({what}); .run 文件被修改或已损坏",
                               "请从构建机重新复制 .run 并校验其 sha256")},
}

"""Messages (en, zh_CN) of onsite.pair and the handshake (onsite.ops.handshake).

Data only (no imports): onsite.core.messages merges the package catalogs."""

MESSAGES = {
    "site-digest": {
        "en": ("site digest: {digest} (status shows it for both nodes; the same file gives the same digest)", ""),
        "zh_CN": ("site 摘要: {digest} (status 会显示两个节点的摘要; 同一文件得到相同摘要)", ""),
    },
    "pair-waiting": {
        "en": ("pair: waiting for {peer} ({address}) to run install too; the two installers meet on port {port}/tcp (up to {seconds} s)", ""),
        "zh_CN": ("配对: 正在等待 {peer} ({address}) 也运行 install; 两个安装程序在端口 {port}/tcp 会合 (最多 {seconds} 秒)", ""),
    },
    "pair-still-waiting": {
        "en": ("pair: still waiting for {peer}: {seconds} s left (last try: {why})", ""),
        "zh_CN": ("配对: 仍在等待 {peer}: 剩余 {seconds} 秒 (上次尝试: {why})", ""),
    },
    "pair-no-answer": {
        "en": ("{peer} ({address}) did not come: its installer never answered on port {port}/tcp; nothing was changed",
               "run install on {peer} too (the same .run and site.toml), then run install here again"),
        "zh_CN": ("{peer} ({address}) 未响应: 其安装程序始终没有在端口 {port}/tcp 应答; 未做任何更改",
                  "请在 {peer} 上也运行 install (相同的 .run 和 site.toml), 然后在本机重新运行 install"),
    },
    "pair-port-busy": {
        "en": ("cannot listen on {address}:{port}/tcp for the pair handshake: {detail}; nothing was changed",
               "stop what uses that port, or set cluster.pair_port in site.toml (the same file on both nodes)"),
        "zh_CN": ("无法在 {address}:{port}/tcp 上监听以进行配对握手: {detail}; 未做任何更改",
                  "请停止占用该端口的程序, 或在 site.toml 中设置 cluster.pair_port (两个节点使用同一文件)"),
    },
    "pair-differs": {
        "en": ("{peer} and this node do not agree (each difference below); nothing was changed on either node",
               "use the same .run and the same site.toml on both nodes: copy them from {first} (where site init ran) to {second}, then run install on both nodes again"),
        "zh_CN": ("{peer} 与本节点不一致 (差异见下); 两个节点都未做任何更改",
                  "两个节点须使用相同的 .run 和相同的 site.toml: 从 {first} (运行 site init 的节点) 拷贝到 {second}, 然后在两个节点上重新运行 install"),
    },
    "pair-key-differs": {
        "en": ("{key}: {me} has {mine}, {peer} has {theirs}", ""),
        "zh_CN": ("{key}: {me} 为 {mine}, {peer} 为 {theirs}", ""),
    },
    "pair-secret-differs": {
        "en": ("{key}: differs between {me} and {peer} (values not shown): the two site files come from different 'site init' runs", ""),
        "zh_CN": ("{key}: {me} 与 {peer} 不同 (不显示取值): 两个 site 文件来自不同的 'site init'", ""),
    },
    "pair-secrets-unproven": {
        "en": ("secrets: {peer} could not prove it holds the same secrets as {me}", ""),
        "zh_CN": ("密钥: {peer} 无法证明其持有与 {me} 相同的密钥", ""),
    },
    "pair-bundle-differs": {
        "en": ("bundle: {me} runs bundle {mine}, {peer} runs bundle {theirs}: the two .run files differ", ""),
        "zh_CN": ("安装包: {me} 运行的安装包为 {mine}, {peer} 为 {theirs}: 两个 .run 文件不同", ""),
    },
    "pair-wrong-peer": {
        "en": ("the node at {their_address} says it is {node}; the site file names {peer} ({address})", ""),
        "zh_CN": ("{their_address} 上的节点自称 {node}; site 文件中为 {peer} ({address})", ""),
    },
    "pair-not-my-peer": {
        "en": ("{peer} does not see {me} ({address}) as its peer: it names {other}", ""),
        "zh_CN": ("{peer} 未将 {me} ({address}) 视为其对端: 它指定的是 {other}", ""),
    },
    "pair-old-peer": {
        "en": ("{peer} runs an installer that does not take part in the pair handshake (facts version {version})", ""),
        "zh_CN": ("{peer} 运行的安装程序不支持配对握手 (版本 {version})", ""),
    },
    "pair-agreed": {
        "en": ("pair: {peer} runs the same bundle ({bundle}) and the same site ({site}), asked {how}", ""),
        "zh_CN": ("配对: {peer} 运行相同的安装包 ({bundle}) 和相同的 site ({site}), 通过{how}确认", ""),
    },
    "pair-how-database": {"en": ("through its database", ""), "zh_CN": ("其数据库", "")},
    "pair-how-live": {"en": ("live on the pair port", ""), "zh_CN": ("配对端口实时", "")},
}

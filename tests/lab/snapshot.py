"""Everything a read-only (or refused) onsite command could touch on a lab node, as text."""

import hashlib
import os


def node_state(lab, node):
    """Files under the node's private tree (mode, sha256), addresses, firewall rules and
    processes, as comparable text."""
    files = []
    top = str(lab.base / node / "fs")
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames) + dirnames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            files.append("%s %o %s" % (os.path.relpath(path, top), st.st_mode, digest))
    cmds = [["ip", "-o", "addr"], ["nft", "list", "ruleset"], ["firewall-cmd", "--list-all"],
            ["firewall-cmd", "--permanent", "--list-all"], ["ps", "-eo", "pid,args"]]
    outs = [lab.run(node, c, check=False).stdout for c in cmds]
    # IPv6 duplicate address detection ends a few seconds after a fresh lab starts: the
    # 'tentative' flag going away is the kernel's doing, not ours (each test must pass alone)
    outs[0] = outs[0].replace(" tentative", "")
    outs[-1] = "\n".join(l for l in outs[-1].splitlines() if "ps -eo" not in l)   # ps itself
    return "\n".join(files + outs)

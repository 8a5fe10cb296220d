"""MySQL/MariaDB master-master: versions, SQL, client, secrets, the server, pairing, the
canary row, status rows, the configure step."""

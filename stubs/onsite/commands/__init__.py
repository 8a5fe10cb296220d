"""One thin module per subcommand: arguments -> ops -> output -> exit code. Commands never
import commands."""

"""CLI commands, one module per area. Modules import only typer at load time (start-up cost is
paid on every CronJob tick); everything heavy is imported inside the command bodies."""

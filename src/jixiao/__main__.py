"""`python -m jixiao` runs the CLI."""

from .cli import app

app(prog_name="jixiao")

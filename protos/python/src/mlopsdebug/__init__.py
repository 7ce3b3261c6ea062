"""Generated from protos/; do not edit (scripts/gen_protos.py)."""

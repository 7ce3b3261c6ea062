"""The scenario generator: (task, seed, salt) -> one simulated training run with a planted fault.

`mlopsdebug_generator.core` is the pure entry point (generate_scenario, generate_world, list_tasks);
world.py and training.py model the run, render_*.py and pipeline_code.py write its six artifacts,
checks.py computes the eight sanity checks, locate.py places the fault for the sealed answer key.
"""

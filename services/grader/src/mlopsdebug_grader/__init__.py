"""The grader: opens sealed answer keys and scores diagnoses.

`core` is the pure scoring (no grpc); `matching` compares files and fields; `fix_rules` holds one
documented rule per fault that checks what a proposed fix changes; `fix_text` reads free text for them.
"""

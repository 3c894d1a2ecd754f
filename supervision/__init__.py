"""Supervision (督察): the complaint workflow, and (later) deadline clocks, monitoring points and warnings.

It uses `casework` and never a channel.
"""

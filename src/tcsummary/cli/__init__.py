"""The ``tcsummary`` command: explore repositories, generate examples, submit builds."""

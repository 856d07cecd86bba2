"""Which of the four registration kinds a worker may use on a date (Beijing manual, rules section).

Filled in by the eligibility work of issue #3: a pure function over a worker's records and a date,
plus a loader that reads the records from the database.
"""

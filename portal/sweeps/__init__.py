"""The overdue sweep (SPEC rules 2, 4, 6, 9): the rules, the background job, the page that starts and watches it."""

"""Text rules: tokens, stems, names and numbers, spelling, language. Pure functions and small
tables over strings; nothing here imports numpy, the index or any model."""

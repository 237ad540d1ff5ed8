"""Surveys of the target market (issue 14): definitions, the check of responses (customer
events of kind `survey_response`) against them, and results by question and segment."""

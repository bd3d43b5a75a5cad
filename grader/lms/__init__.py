"""An LMS's bulk download split into one submission per student, and the grade file it imports back."""

"""Identity: phone numbers normalised, one-time codes sent by SMS, and phones linked to a messenger."""

"""What citizens and apps read: no key, cacheable."""

"""The 18 service domains of a social-work station (Guangdong station manual, 服务领域): shared by
organizations, stations and service activities."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceDomain(models.TextChoices):
    SOCIAL_ASSISTANCE = "social_assistance", _("Social assistance")
    CHILD_WELFARE = "child_welfare", _("Child welfare")
    ELDERLY_CARE = "elderly_care", _("Elderly care")
    COMMUNITY_GOVERNANCE = "community_governance", _("Community governance")
    DISABILITY = "disability", _("Services for people with disabilities")
    MARRIAGE_FAMILY = "marriage_family", _("Marriage and family services")
    MENTAL_HEALTH = "mental_health", _("Mental health")
    EDUCATION = "education", _("Education and tutoring")
    EMPLOYMENT = "employment", _("Employment assistance")
    WORKER_SUPPORT = "worker_support", _("Support for employees")
    CRIME_PREVENTION = "crime_prevention", _("Crime prevention")
    DRUG_REHAB = "drug_rehab", _("Drug control and rehabilitation")
    CORRECTIONS = "corrections", _("Community corrections and aftercare")
    MEDIATION = "mediation", _("Dispute mediation")
    EMERGENCY = "emergency", _("Emergency response")
    PSYCHOSOCIAL = "psychosocial", _("Social psychological services")
    CHARITY = "charity", _("Charity")
    OTHER = "other", _("Other")

"""Tables of the delivery queue: ordinary rows you can read with one SELECT.

An Envelope is one signed-to-be activity body; a Delivery is one (envelope, inbox) pair
with its own retry state; HostHealth is the per-host circuit breaker and availability.
"""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Envelope(Model):
    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=2048, db_index=True)
    # Exact bytes POSTed: serialised once, hashed and sent as-is on every attempt.
    body = fields.BinaryField()
    # Which local key signs it; the worker asks a key provider for the private key.
    key_id = fields.CharField(max_length=2048)
    created_at = fields.DatetimeField()

    class Meta:
        table = "federation_envelope"


class DeliveryState:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # permanently refused (4xx other than 401/408/429, 501, 410)
    EXPIRED = "expired"  # retried for days, gave up

    ALL = (PENDING, DELIVERED, FAILED, EXPIRED)


class Delivery(Model):
    id = fields.BigIntField(primary_key=True)
    envelope = fields.ForeignKeyField("models.Envelope", related_name="deliveries", on_delete=fields.CASCADE)
    inbox = fields.CharField(max_length=2048)
    host = fields.CharField(max_length=255, db_index=True)
    state = fields.CharField(max_length=16, default=DeliveryState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    # A claim is a lease: a crashed worker's claim simply runs out.
    locked_until = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "federation_delivery"
        unique_together = (("envelope", "inbox"),)
        indexes = (("state", "next_attempt_at"),)


class HostHealth(Model):
    host = fields.CharField(max_length=255, primary_key=True)
    consecutive_failures = fields.IntField(default=0)
    circuit_open_until = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)
    last_failure_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")

    class Meta:
        table = "federation_host_health"

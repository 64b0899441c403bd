"""The REST representation of a stream token: its string, name, MQTT topic and status."""

from __future__ import annotations

from rest_framework import serializers

from core.models import TOKEN_PATTERN, StreamToken
from core.models.tokens import TOKEN_STATUS_FIELDS, BadTopic, check_mqtt_topic, check_topic_room


class StreamTokenSerializer(serializers.ModelSerializer):
    token = serializers.CharField(
        required=False,
        help_text="Leave out to get a random token; give one (10 to 64 of A-Z a-z 0-9 . _ ~ -) to keep an old one.",
    )
    # The status fields are StreamToken.status(), the one shape of a token's status; declared
    # here for the API's schema.
    revoked = serializers.DateTimeField(read_only=True, allow_null=True)
    connected = serializers.BooleanField(read_only=True)
    last_error = serializers.JSONField(read_only=True, help_text='{"line", "message", "at"} or null.')
    traces = serializers.SerializerMethodField()
    mqtt_topic = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The MQTT topic filter whose messages are lines of this token's stream (wildcards: + a whole "
        'level, # a whole last level); "" for none. Needs MQTT_URL (docs/ingest.md, "MQTT").',
    )

    class Meta:
        model = StreamToken
        fields = ["id", "token", "name", "created", "mqtt_topic", *TOKEN_STATUS_FIELDS, "traces"]
        read_only_fields = [f for f in fields if f not in ("token", "name", "mqtt_topic")]

    def to_representation(self, token: StreamToken) -> dict:
        return {**super().to_representation(token), **token.status()}

    def get_traces(self, token: StreamToken) -> list[dict]:
        return [{"plot": t.plot_id, "index": t.index} for t in token.traces.all()]

    def validate_mqtt_topic(self, value: str) -> str:
        try:
            owner = self.instance.owner if self.instance is not None else self.context["request"].user
            if check_mqtt_topic(value, owner.get_username()):
                check_topic_room(self.instance.pk if self.instance is not None else None)
            return value
        except BadTopic as exc:
            raise serializers.ValidationError(f"Not a topic filter MQTT allows: {exc}.") from None

    def validate_token(self, value: str) -> str:
        if self.instance is not None:
            raise serializers.ValidationError("A token's string never changes; make a new token (POST /api/streams/).")
        if not TOKEN_PATTERN.match(value):
            raise serializers.ValidationError("A token is 10 to 64 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-'.")
        if StreamToken.objects.filter(token=value).exists():
            raise serializers.ValidationError("This token is taken already; tokens are unique on the server.")
        return value

# Local single-node Kafka for the integration tests (docs/kafka.md).
.PHONY: kafka-up kafka-down kafka-status

kafka-up:
	bash deploy/kafka/kafka.sh up

kafka-down:
	bash deploy/kafka/kafka.sh down

kafka-status:
	bash deploy/kafka/kafka.sh status

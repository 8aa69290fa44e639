package natsserver

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// serverLog adapts a *zap.Logger to nats-server's Logger and captures the first fatal message, which the
// server only logs (it does not exit when a custom logger is set), so Start can return it as an error.
type serverLog struct {
	log   *zap.Logger
	fatal chan string
}

func newServerLog(l *zap.Logger) *serverLog {
	if l == nil {
		l = zap.NewNop()
	}
	return &serverLog{log: l.WithOptions(zap.AddCallerSkip(2)), fatal: make(chan string, 1)}
}

func (s *serverLog) write(level zapcore.Level, format string, v []any) {
	if ce := s.log.Check(level, ""); ce != nil {
		ce.Message = fmt.Sprintf(format, v...)
		ce.Write()
	}
}

func (s *serverLog) Noticef(format string, v ...any) { s.write(zapcore.InfoLevel, format, v) }
func (s *serverLog) Warnf(format string, v ...any)   { s.write(zapcore.WarnLevel, format, v) }
func (s *serverLog) Errorf(format string, v ...any)  { s.write(zapcore.ErrorLevel, format, v) }
func (s *serverLog) Debugf(format string, v ...any)  { s.write(zapcore.DebugLevel, format, v) }
func (s *serverLog) Tracef(format string, v ...any)  { s.write(zapcore.DebugLevel, format, v) }

// Fatalf logs at Error level and records the message for Start; it never exits the process.
func (s *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	s.log.Error(msg)
	select {
	case s.fatal <- msg:
	default:
	}
}

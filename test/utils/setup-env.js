// Runs before each test file: quiet TensorFlow's C++ start-up logging.
process.env.TF_CPP_MIN_LOG_LEVEL = process.env.TF_CPP_MIN_LOG_LEVEL || '2';

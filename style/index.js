import './base.css';
import './deploy.css';
import './runs-models.css';
import './continuous-training.css';
